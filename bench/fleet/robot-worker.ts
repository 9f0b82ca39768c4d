/**
 * One worker process of the fleet simulator: runs many simulated robots, each the real agent
 * (`@bosun/agent`'s compiled `Agent` and `provision`, the code a robot runs), with its state and
 * config files on tmpfs. The coordinator (`sim.ts`) talks to it over the fork IPC channel; robots'
 * observations travel back in batches so the channel never becomes the bottleneck.
 *
 * What a robot reports is read from the agent's own signals: the `reported` event (a report the
 * server accepted) and the agent's log lines (push channel connected / lost / error), so nothing of
 * the agent is reached into.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, provision } from '@bosun/agent';
import pino from 'pino';
import type { FromWorker, Observation, RobotSpec, ToWorker } from './protocol.ts';

const robots = new Map<number, Agent>();
let outbox: Observation[] = [];
let flushTimer: NodeJS.Timeout | undefined;

function send(message: Observation): void {
  outbox.push(message);
  if (flushTimer === undefined) flushTimer = setTimeout(flush, 25);
}
function flush(): void {
  flushTimer = undefined;
  if (outbox.length === 0) return;
  const batch = outbox;
  outbox = [];
  process.send!({ type: 'batch', messages: batch } satisfies FromWorker);
}

/** A pino logger per robot whose lines become observations (connects, losses, errors). */
function robotLogger(index: number) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        let entry: { level?: number; msg?: string; err?: string };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        const at = Date.now();
        if (entry.msg === 'push channel connected') send({ type: 'connected', index, at });
        else if (entry.msg === 'push channel lost; reconnecting') send({ type: 'lost', index, at });
        else if ((entry.level ?? 0) >= 40)
          send({ type: 'problem', index, at, message: `${entry.msg}${entry.err ? `: ${entry.err}` : ''}` });
      }
      done();
    },
  });
  return pino({ level: 'info', base: undefined, timestamp: false }, sink);
}

async function startRobot(spec: RobotSpec, scratch: string): Promise<void> {
  const stateDir = join(scratch, `robot-${spec.index}`, 'state');
  const fsRoot = join(scratch, `robot-${spec.index}`, 'root');
  mkdirSync(fsRoot, { recursive: true });
  try {
    await provision({ server: spec.server, token: spec.token, stateDir });
    const agent = new Agent({ stateDir, fsRoot, logger: robotLogger(spec.index), server: spec.server });
    agent.on('reported', ({ deployment_id, report }) =>
      send({
        type: 'reported',
        index: spec.index,
        at: Date.now(),
        deploymentId: deployment_id,
        status: report.activity_status ?? 'none',
      }),
    );
    robots.set(spec.index, agent);
    await agent.start();
    send({ type: 'started', index: spec.index, at: Date.now() });
  } catch (err) {
    send({ type: 'failed', index: spec.index, at: Date.now(), message: String(err) });
  }
}

/** Starts the robots spread evenly over `spreadMs` (a connect storm has a length, not a point). */
async function startAll(specs: RobotSpec[], scratch: string, spreadMs: number): Promise<void> {
  const began = Date.now();
  await Promise.all(
    specs.map(async (spec, i) => {
      const due = began + (spreadMs * i) / Math.max(1, specs.length);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await startRobot(spec, scratch);
    }),
  );
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'start') {
    startAll(message.robots, message.scratch, message.spreadMs)
      .then(() => send({ type: 'all-started', at: Date.now(), cpu: process.cpuUsage() }))
      .catch((err) => send({ type: 'problem', index: -1, at: Date.now(), message: String(err) }));
  } else if (message.type === 'cpu') {
    send({ type: 'cpu', at: Date.now(), cpu: process.cpuUsage(), rss: process.memoryUsage.rss() });
  } else if (message.type === 'stop') {
    Promise.all([...robots.values()].map((a) => a.stop().catch(() => {}))).then(() => {
      flush();
      process.exit(0);
    });
  }
});
process.send!({ type: 'batch', messages: [{ type: 'ready', at: Date.now() }] } satisfies FromWorker);
