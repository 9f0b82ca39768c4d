import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const repoRoot = join(import.meta.dirname, '..', '..');
const BOSUN = join(repoRoot, 'packages', 'cli', 'bin', 'bosun.mjs');
const CLOCK_TICKS_PER_SECOND = 100;

export interface ServerProcessOptions {
  dataDir: string;
  adminKey: string;
  /** postgres://… (with its search_path in `options`), or undefined for SQLite in dataDir. */
  databaseUrl?: string | undefined;
  /** External broker; undefined for the embedded one. */
  mqttUrl?: string | undefined;
}

/**
 * A real `bosun server` process (the compiled binary, as an operator runs it) that can be stopped
 * and started again on the same port, and whose CPU time and RSS are read from /proc, so the
 * simulator measures the server alone.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private port = 0;
  url = '';

  constructor(private readonly opts: ServerProcessOptions) {}

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  async start(): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BOSUN_BOOTSTRAP_API_KEY: this.opts.adminKey,
      BOSUN_LOG_LEVEL: 'info',
      BOSUN_DATABASE_URL: this.opts.databaseUrl ?? '',
      BOSUN_MQTT_URL: this.opts.mqttUrl ?? '',
    };
    const child = spawn(
      process.execPath,
      [BOSUN, 'server', '--host', '127.0.0.1', '--port', String(this.port), '--data-dir', this.opts.dataDir],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout! });
    this.url = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`bosun server exited (${code}) before listening:\n${stderr}`));
      child.once('exit', onExit);
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'bosun server listening' && entry.url) {
            child.off('exit', onExit);
            resolve(entry.url);
          }
        } catch {}
      });
    });
    this.port = Number(new URL(this.url).port);
  }

  /** SIGTERM and wait for the exit (a clean stop: robots see their connections close). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }

  /** User + system CPU seconds the server has used so far (all its threads). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }

  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  }
}
