/**
 * Start-up: the compiled `bosun` binary as a user runs it. `bosun --version` and `bosun devices list`
 * (against a local server) wall time, server start to a healthy `/healthz`, and the idle server's
 * RSS — each next to a bare Node ceiling measured in the same run (`node -e 0`; an idle
 * `setInterval` process's RSS). Medians of BENCH_STARTUP_RUNS runs (default 9) after one warm-up.
 * Needs `npm run build` first (the binary runs dist/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchResult } from './run.ts';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 9);
const BIN = join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'bosun.mjs');
const KEY = 'bsn_startupbenchkey0123456789abcd';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => Math.round(n * 10) / 10;

/** Environment without the caller's BOSUN_* settings: the embedded defaults. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOSUN_')));
  return { ...env, ...extra };
}

function runOnce(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - t0)
        : reject(new Error(`${args.join(' ')}: exit ${code}\n${err}`)),
    );
  });
}

async function timeCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  await runOnce(args, env);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await runOnce(args, env));
  return median(times);
}

async function healthy(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** CPU seconds (user + system) the process has used so far: robust to a loaded machine, unlike wall time. */
function cpuSeconds(pid: number): number {
  // Fields 14 and 15 of /proc/PID/stat (after the parenthesised command name) are utime and stime in ticks.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const UNBUNDLED = join(import.meta.dirname, '..', 'packages', 'server', 'dist', 'index.js');

/**
 * The same server from the unbundled compiled modules (dist/index.js, ≈ 600 modules to resolve), the
 * way `bosun server` started before the bundle: the before/after of the same run.
 */
const unbundledArgs = (dataDir: string, port: number) => [
  '--input-type=module',
  '-e',
  `const s = await import(${JSON.stringify(UNBUNDLED)});
   const c = s.resolveServerConfig({ port: ${port}, dataDir: ${JSON.stringify(dataDir)} }, process.env);
   const r = await s.startServer(c, { logger: s.createLogger('warn'), print: () => {} });
   process.on('SIGTERM', () => r.close().then(() => process.exit(0)));`,
];

/** Spawns `bosun server` on a fixed port over `dataDir` and returns it with its start-to-healthy time. */
async function startServer(
  dataDir: string,
  port: number,
  unbundled = false,
): Promise<{ child: ChildProcess; ms: number; cpu: number }> {
  const t0 = performance.now();
  const args = unbundled
    ? unbundledArgs(dataDir, port)
    : [BIN, 'server', '--port', String(port), '--data-dir', dataDir];
  const child = spawn(process.execPath, args, {
    env: cleanEnv({ BOSUN_BOOTSTRAP_API_KEY: KEY, BOSUN_LOG_LEVEL: 'warn' }),
    stdio: 'ignore',
  });
  await healthy(`http://127.0.0.1:${port}`, child);
  return { child, ms: performance.now() - t0, cpu: cpuSeconds(child.pid!) };
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
}

const bench: Bench = {
  name: 'start-up',
  async run(): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    const env = cleanEnv();
    const bare = await timeCommand(['-e', '0'], env);
    results.push({ metric: 'node -e 0 (ceiling)', value: ms(bare), unit: 'ms' });
    const version = await timeCommand([BIN, '--version'], env);
    results.push({ metric: 'bosun --version', value: ms(version), unit: 'ms', note: 'target ≤ 150 ms' });

    const root = mkdtempSync(join(tmpdir(), 'bosun-bench-startup-'));
    const port = 18000 + Math.floor(Math.random() * 2000);
    try {
      // First start creates the database (migrations); later starts open an existing one.
      const first = await startServer(join(root, 'data'), port);
      results.push({ metric: 'server start → healthy, new database', value: ms(first.ms), unit: 'ms' });
      const clientEnv = cleanEnv({ BOSUN_SERVER: `http://127.0.0.1:${port}`, BOSUN_API_KEY: KEY });
      const list = await timeCommand([BIN, 'devices', 'list'], clientEnv);
      results.push({
        metric: 'bosun devices list (local server)',
        value: ms(list),
        unit: 'ms',
        note: 'target ≤ 300 ms',
      });
      await settle();
      results.push({
        metric: 'server idle RSS (after requests)',
        value: ms(rssMiB(first.child.pid!)),
        unit: 'MiB',
      });
      await stop(first.child);

      const starts: number[] = [];
      const cpu: number[] = [];
      const rss: number[] = [];
      const unbundledStarts: number[] = [];
      const unbundledCpu: number[] = [];
      // Bundle and unbundled in turn, so a drifting machine load hits both alike.
      for (let i = 0; i < Math.min(RUNS, 5); i++) {
        const s = await startServer(join(root, 'data'), port);
        starts.push(s.ms);
        cpu.push(s.cpu);
        await settle();
        rss.push(rssMiB(s.child.pid!));
        await stop(s.child);
        const u = await startServer(join(root, 'data'), port, true);
        unbundledStarts.push(u.ms);
        unbundledCpu.push(u.cpu);
        await stop(u.child);
      }
      results.push({
        metric: 'server start → healthy, unbundled modules (before)',
        value: ms(median(unbundledStarts)),
        unit: 'ms',
      });
      results.push({
        metric: 'server CPU time to healthy, unbundled (before)',
        value: ms(median(unbundledCpu) * 1000),
        unit: 'ms',
      });
      results.push({
        metric: 'server start → healthy, existing database',
        value: ms(median(starts)),
        unit: 'ms',
        note: 'target ≤ 1.5 s',
      });
      results.push({
        metric: 'server CPU time to healthy (user + sys)',
        value: ms(median(cpu) * 1000),
        unit: 'ms',
      });
      results.push({
        metric: 'server idle RSS',
        value: ms(median(rss)),
        unit: 'MiB',
        note: 'target ≤ 120 MB',
      });

      const idle = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e6)'], { stdio: 'ignore' });
      await settle();
      results.push({ metric: 'bare node idle RSS (ceiling)', value: ms(rssMiB(idle.pid!)), unit: 'MiB' });
      await stop(idle);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    return results;
  },
};

export default bench;
