import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../e2e/support/fleet.ts';
import { repoRoot, type ServerProcess } from './bosun-server.ts';

/**
 * A stream of deployments to real `bosun agent run` processes while a fault is injected, and the
 * bookkeeping behind "0 lost, 0 stuck, files all-old or all-new":
 * - lost: a deployment the API accepted that the server no longer knows, or whose files never reach
 *   the disk although it is the device's latest;
 * - stuck: once the faults are over, a deployment that is not `deployed` (the device's latest) or
 *   `archived` (every earlier one) within the convergence window;
 * - torn: a file read (while the faults run, many times) that is not the complete content of one
 *   round; at the end every file of a device holds its latest round.
 */

const BIN = join(repoRoot, 'packages', 'cli', 'bin', 'bosun.mjs');
export const FILES = ['/etc/robot/mobility.json', '/srv/bosun/configs/perception.json'];

export class ReliabilityAgent {
  readonly stateDir = mkdtempSync(join(tmpdir(), 'bosun-rel-state-'));
  proc: ChildProcess | undefined;
  log = '';
  deviceId = '';

  constructor(readonly fsRoot = mkdtempSync(join(tmpdir(), 'bosun-rel-root-'))) {}

  start(): void {
    this.proc = spawn(
      process.execPath,
      [
        BIN,
        'agent',
        'run',
        '--state-dir',
        this.stateDir,
        '--fs-root',
        this.fsRoot,
        '--poll-interval',
        '1',
        '--drift-interval',
        '3600',
        '--retry-base',
        '200',
        '--retry-cap',
        '1000',
        '--max-attempts',
        '100000',
        '--socket',
        join(this.stateDir, 'bosun.sock'),
      ],
      { env: { ...process.env, BOSUN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-400_000);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  read(path: string): string | null {
    const real = join(this.fsRoot, path);
    return existsSync(real) ? readFileSync(real, 'utf8') : null;
  }
}

/** File content of a round: padded so writes take a moment, self-describing so a torn one shows. */
export function contentOf(round: number, file: number, padKiB = 16): string {
  return `${JSON.stringify({ round, file, pad: 'r'.repeat(padKiB * 1024 + round) })}\n`;
}

export function roundOf(text: string, file: number): number | 'torn' {
  try {
    const v = JSON.parse(text);
    if (v.file !== file || typeof v.round !== 'number') return 'torn';
    return text === contentOf(v.round, file, Math.floor((v.pad.length - v.round) / 1024)) ? v.round : 'torn';
  } catch {
    return 'torn';
  }
}

export interface RolloutWorld {
  schemaIds: string[];
  releaseId: string;
  agents: ReliabilityAgent[];
}

/** Two config types and schemas, one release, and `n` provisioned devices (agents not started). */
export async function setUpWorld(
  server: ServerProcess,
  n: number,
  opts: { agentServerUrl?: string; fsRoots?: string[] } = {},
): Promise<RolloutWorld> {
  const tag = Math.random().toString(36).slice(2, 8);
  const schemaIds: string[] = [];
  for (const [i, path] of FILES.entries()) {
    const type = await retrying(() =>
      server.api('POST', 'config_types', { name: `rel-${tag}-${i}`, slug: `rel-${tag}-${i}` }),
    );
    const schema = await retrying(() =>
      server.api('POST', 'config_schemas', {
        config_type_ref: { id: type.id },
        instance_filepath: path,
        language: 'jsonschema',
        format: 'json',
        documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
      }),
    );
    schemaIds.push(schema.id);
  }
  const release = await retrying(() =>
    server.api('POST', 'releases', { version: `1.0.0-${tag}`, config_schema_ids: schemaIds }),
  );
  const agents: ReliabilityAgent[] = [];
  for (let i = 0; i < n; i++) {
    const agent = new ReliabilityAgent(opts.fsRoots?.[i]);
    const device = await server.api('POST', 'devices', { name: `rel-${tag}-${i}` });
    const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
    const res = await runCli(
      ['agent', 'provision', '--server', opts.agentServerUrl ?? server.url, '--state-dir', agent.stateDir],
      { BOSUN_ACTIVATION_TOKEN: token },
    );
    if (res.code !== 0) throw new Error(`provision failed: ${res.stderr}`);
    agent.deviceId = device.id;
    agents.push(agent);
  }
  return { schemaIds, releaseId: release.id, agents };
}

/** Retries a platform call through connection errors and 5xx while a fault is on. */
export async function retrying<T>(fn: () => Promise<T>, what = 'request'): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 600; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      // Refusals other than a failed connection or a 5xx are real failures.
      if (/: 4\d\d /.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} kept failing: ${String(last)}`);
}

export interface RolloutTally {
  deployments: number;
  lost: number;
  stuck: number;
  torn: number;
  samples: number;
  details: string[];
  /** Where the time went (rounds with faults, convergence afterwards). */
  seconds: Record<string, number>;
}

/**
 * Runs `rounds` rounds: each creates new instances and a `deployed` deployment per device, then
 * calls `fault(round)`. Files are sampled all along. Then waits for convergence and tallies.
 */
export async function rollout(
  server: ServerProcess,
  world: RolloutWorld,
  rounds: number,
  fault: (round: number) => Promise<void>,
  opts: { padKiB?: number; convergeMs?: number } = {},
): Promise<RolloutTally> {
  const created = new Map<string, Array<{ id: string; round: number }>>();
  for (const a of world.agents) created.set(a.deviceId, []);
  const tally: RolloutTally = {
    deployments: 0,
    lost: 0,
    stuck: 0,
    torn: 0,
    samples: 0,
    details: [],
    seconds: {},
  };
  const t0 = Date.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const a of world.agents)
        for (const [i, path] of FILES.entries()) {
          const text = a.read(path);
          if (text === null) continue;
          tally.samples++;
          if (roundOf(text, i) === 'torn') {
            tally.torn++;
            if (tally.details.length < 10) tally.details.push(`torn file ${path} on ${a.deviceId}`);
          }
        }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const a of world.agents) {
        const instances: string[] = [];
        for (const [i, schema] of world.schemaIds.entries()) {
          const inst = await retrying(() =>
            server.api('POST', 'config_instances', {
              config_schema_id: schema,
              content: { format: 'json', data: contentOf(round, i, opts.padKiB) },
            }),
          );
          instances.push(inst.id);
        }
        // A create whose answer is lost to a fault may be retried into a second deployment; the
        // first is then superseded (archived), which the tally below accepts.
        const d = await retrying(() =>
          server.api('POST', 'deployments', {
            target_status: 'deployed',
            description: `reliability round ${round}`,
            release_id: world.releaseId,
            device_id: a.deviceId,
            config_instance_ids: instances,
          }),
        );
        created.get(a.deviceId)!.push({ id: d.id, round });
        tally.deployments++;
      }
      await fault(round);
    }
  } catch (err) {
    sampling = false;
    await sampler;
    throw err;
  }

  tally.seconds.rounds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  // Convergence: the latest deployment of each device deployed and on disk, every other archived.
  const deadline = Date.now() + (opts.convergeMs ?? 90_000);
  for (const a of world.agents) {
    const list = created.get(a.deviceId)!;
    const latest = list.at(-1)!;
    let converged = false;
    while (Date.now() < deadline) {
      const d = await retrying(() => server.api('GET', `deployments/${latest.id}`));
      const files = FILES.map((p, i) => {
        const t = a.read(p);
        return t === null ? null : roundOf(t, i);
      });
      if (d.status === 'deployed' && files.every((r) => r === latest.round)) {
        converged = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!converged) {
      tally.lost++;
      tally.details.push(
        `device ${a.deviceId}: latest deployment ${latest.id} (round ${latest.round}) never reached the disk`,
      );
    }
    for (const { id, round } of list.slice(0, -1)) {
      let status = '';
      while (Date.now() < deadline) {
        const res = await fetch(`${server.url}/beta/deployments/${id}`, {
          headers: { 'miru-version': '2026-03-09.tetons', 'x-api-key': server.adminKey },
        }).catch(() => undefined);
        if (res?.status === 404) {
          status = 'missing';
          break;
        }
        status = res ? (await res.json()).status : '';
        if (status === 'archived') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (status === 'missing') {
        tally.lost++;
        tally.details.push(`deployment ${id} (round ${round}) vanished`);
      } else if (status !== 'archived') {
        tally.stuck++;
        tally.details.push(`deployment ${id} (round ${round}) stuck at ${status}`);
      }
    }
  }
  sampling = false;
  await sampler;
  tally.seconds.converge = (Date.now() - t1) / 1000;
  return tally;
}
