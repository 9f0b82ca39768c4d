/**
 * What the agent costs a robot: idle RSS and CPU of the bundle on this machine's Node and of the x64
 * single executable, the executable's size, and the install-script enrolment time (one-liner in a
 * temp prefix, without systemd: download ~110 MB from a local server, checksum, provision).
 * Needs `npm run build:agent` (built here if absent). BOSUN_BENCH_IDLE_S sets the idle window (60).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, RestartableServer } from '../test/e2e/support/fleet.ts';
import { artifact, ensureAgentArtifacts } from '../test/support/agent-artifacts.ts';
import type { Bench, BenchResult } from './run.ts';

// Async: the server runs in this process, so a blocking child would never get its answer.
const exec = promisify(execFile);
const IDLE_S = Number(process.env.BOSUN_BENCH_IDLE_S ?? 60);
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settles 10 s, then samples RSS each second over the idle window; CPU is averaged over it. */
async function idle(proc: ChildProcess): Promise<{ rss: number; cpuPct: number }> {
  await sleep(10_000);
  const pid = proc.pid!;
  const t0 = cpuTicks(pid);
  const start = Date.now();
  let rss = 0;
  while (Date.now() - start < IDLE_S * 1000) {
    rss = Math.max(rss, rssMb(pid));
    await sleep(1000);
  }
  const cpuPct = ((cpuTicks(pid) - t0) / TICK / ((Date.now() - start) / 1000)) * 100;
  return { rss: Math.round(rss * 10) / 10, cpuPct: Math.round(cpuPct * 100) / 100 };
}

function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return Promise.resolve();
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  return done;
}

const bench: Bench = {
  name: 'agent footprint',
  async run(): Promise<BenchResult[]> {
    ensureAgentArtifacts();
    const server = new RestartableServer(await freePort(), undefined);
    await server.start();
    const results: BenchResult[] = [];
    try {
      const baseline = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e6)']);
      const bare = await idle(baseline);
      await stop(baseline);
      results.push({
        metric: 'bare node idle RSS (ceiling)',
        value: bare.rss,
        unit: 'MB',
        note: process.version,
      });

      const enrol = async (name: string) => {
        const device = await server.api('POST', 'devices', { name });
        const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
        return token as string;
      };
      // The one-liner, timed end to end (download, checksum, install, provision).
      const prefix = mkdtempSync(join(tmpdir(), 'bosun-bench-install-'));
      const token = await enrol(`bench-install-${Date.now()}`);
      const t = Date.now();
      await exec('sh', [
        '-c',
        `curl -fsSL ${server.url}/install.sh | sh -s -- --token ${token} --prefix ${prefix} --no-systemd`,
      ]);
      results.push({ metric: 'install-script enrolment', value: (Date.now() - t) / 1000, unit: 's' });

      const variants: [string, string[], string][] = [
        ['bundle on node', [process.execPath, artifact.bundle], process.version],
        // What the executables embed (SEA execArgv); for the bundle, NODE_OPTIONS or the command line.
        [
          'bundle on node --max-semi-space-size=1',
          [process.execPath, '--max-semi-space-size=1', artifact.bundle],
          process.version,
        ],
        ['x64 executable', [artifact.x64], 'embedded Node'],
      ];
      for (const [label, cmd, note] of variants) {
        const state = mkdtempSync(join(tmpdir(), 'bosun-bench-agent-'));
        // Device names are at most 48 characters.
        const tok = await enrol(`bench-${label.replace(/\W+/g, '-').slice(0, 24)}-${Date.now()}`);
        await exec(cmd[0]!, [
          ...cmd.slice(1),
          'provision',
          '--server',
          server.url,
          '--token',
          tok,
          '--state-dir',
          state,
        ]);
        const proc = spawn(
          cmd[0]!,
          [
            ...cmd.slice(1),
            'run',
            '--state-dir',
            state,
            '--fs-root',
            join(state, 'root'),
            '--socket',
            join(state, 's.sock'),
          ],
          { stdio: 'ignore', env: { ...process.env, BOSUN_LOG_LEVEL: 'warn' } },
        );
        const r = await idle(proc);
        await stop(proc);
        results.push({ metric: `agent idle RSS, ${label}`, value: r.rss, unit: 'MB', note });
        results.push({ metric: `agent idle CPU, ${label}`, value: r.cpuPct, unit: '%', note: `${IDLE_S} s` });
      }
      results.push({
        metric: 'x64 executable on disk',
        value: Math.round(statSync(artifact.x64).size / 1e5) / 10,
        unit: 'MB',
      });
      results.push({
        metric: 'arm64 executable on disk',
        value: Math.round(statSync(artifact.arm64).size / 1e5) / 10,
        unit: 'MB',
      });
      results.push({
        metric: 'bundle on disk',
        value: Math.round(statSync(artifact.bundle).size / 1e4) / 100,
        unit: 'MB',
      });
    } finally {
      await server.destroy();
    }
    return results;
  },
};
export default bench;
