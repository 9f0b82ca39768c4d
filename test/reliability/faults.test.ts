import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../packages/agent/test/support/seeded.ts';
import { waitFor } from '../e2e/support/fleet.ts';
import { reliabilityEngines, ServerProcess } from './support/bosun-server.ts';
import { recordFigures } from './support/figures.ts';
import { freePort } from './support/ports.ts';
import { contentOf, FILES, type RolloutTally, rollout, roundOf, setUpWorld } from './support/rollout.ts';
import { mosquittoBinary, OwnMosquitto, OwnPostgres, postgresBinDir } from './support/services.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

/**
 * Fault injection with real processes: a stream of deployments to real agents while the server is
 * SIGKILLed (both engines), the broker and PostgreSQL are restarted (our own instances), the network
 * between agents and server drops and lags (a TCP proxy), and an agent's disk fills up. Each ends
 * with 0 lost, 0 stuck, and files that were only ever complete old or complete new content.
 * BOSUN_FAULT_ROUNDS sets the faults per kind (CI 3; the full-size bench 20); the random moments
 * come from BOSUN_FAULT_SEED (printed).
 */
const ROUNDS = Number(process.env.BOSUN_FAULT_ROUNDS ?? 3);
const random = seededRandom('BOSUN_FAULT_SEED');
const jitter = (maxMs: number) => new Promise((r) => setTimeout(r, Math.floor(random.next() * maxMs)));
console.log(`fault tests: ${ROUNDS} faults per kind, seed ${random.seed} (replay: ${random.replay})`);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverOn(
  engine: 'sqlite' | 'postgres',
  opts: { databaseUrl?: string; env?: Record<string, string> } = {},
) {
  const server = new ServerProcess({ engine, port: await freePort(), ...opts });
  cleanups.push(() => server.destroy());
  await server.start();
  return server;
}

function expectClean(kind: string, t: RolloutTally, faults: number) {
  const figures = {
    faults,
    deployments: t.deployments,
    lost: t.lost,
    stuck: t.stuck,
    torn: t.torn,
    samples: t.samples,
    seed: random.seed,
  };
  console.log(
    `fault ${kind}: ${JSON.stringify(figures)} ${JSON.stringify(t.seconds)}${t.details.length ? `\n  ${t.details.join('\n  ')}` : ''}`,
  );
  recordFigures(`fault-${kind}`, figures);
  const at = `${kind}, ${random.replay}`;
  expect(t.details, at).toEqual([]);
  expect({ lost: t.lost, stuck: t.stuck, torn: t.torn }, at).toEqual({ lost: 0, stuck: 0, torn: 0 });
  expect(t.samples, 'files were sampled while the faults ran').toBeGreaterThan(0);
}

describe.each(reliabilityEngines())('server SIGKILLed during a rollout (%s)', (engine) => {
  it(`${ROUNDS} kills: 0 lost, 0 stuck, files all-old or all-new`, {
    timeout: 120_000 + ROUNDS * 30_000,
  }, async () => {
    const server = await serverOn(engine);
    const world = await setUpWorld(server, 2);
    for (const a of world.agents) {
      cleanups.push(() => a.stop());
      a.start();
    }
    const tally = await rollout(server, world, ROUNDS, async () => {
      await jitter(500);
      await server.kill('SIGKILL');
      await server.start();
    });
    expectClean(`server-sigkill-${engine}`, tally, ROUNDS);
  });
});

const MOSQUITTO = mosquittoBinary();
describe('broker restarted during a rollout (our own Mosquitto)', () => {
  it.skipIf(!MOSQUITTO)(
    `${ROUNDS} restarts: the server stays up, 0 lost, 0 stuck`,
    { timeout: 120_000 + ROUNDS * 30_000 },
    async () => {
      const broker = new OwnMosquitto(MOSQUITTO!);
      cleanups.push(() => broker.destroy());
      await broker.start();
      const server = await serverOn('sqlite', { env: { BOSUN_MQTT_URL: broker.url } });
      const world = await setUpWorld(server, 2);
      for (const a of world.agents) {
        cleanups.push(() => a.stop());
        a.start();
      }
      const tally = await rollout(server, world, ROUNDS, async () => {
        await jitter(500);
        await broker.kill('SIGKILL');
        await jitter(1000);
        await broker.start();
      });
      expect(server.exits, `the server never exited: ${server.output.slice(-2000)}`).toEqual([]);
      expect(await server.healthy()).toBe(true);
      expectClean('broker-restart', tally, ROUNDS);
    },
  );
  if (!MOSQUITTO) console.log('broker restart skipped: no mosquitto binary on PATH');
});

const PG_BIN = postgresBinDir();
describe('PostgreSQL restarted during a rollout (our own cluster)', () => {
  it.skipIf(!PG_BIN)(
    `${ROUNDS} restarts: the server stays up, 0 lost, 0 stuck`,
    { timeout: 180_000 + ROUNDS * 30_000 },
    async () => {
      const pg = new OwnPostgres(PG_BIN!);
      cleanups.push(() => pg.destroy());
      await pg.init();
      pg.start();
      const server = await serverOn('postgres', { databaseUrl: pg.url });
      const world = await setUpWorld(server, 2);
      for (const a of world.agents) {
        cleanups.push(() => a.stop());
        a.start();
      }
      // Our store's pool would see the restart too; it is only used for keys and counts, not here.
      const tally = await rollout(server, world, ROUNDS, async () => {
        await jitter(500);
        pg.stop('immediate');
        await jitter(1500);
        pg.start();
      }).catch((err: Error) => {
        // The server's own words are the diagnosis when the rollout cannot go on.
        throw new Error(
          `${err.message}; server exits ${JSON.stringify(server.exits)}:\n${server.output.slice(-3000)}`,
        );
      });
      expect(server.exits, `the server never exited: ${server.output.slice(-2000)}`).toEqual([]);
      expect(await server.healthy()).toBe(true);
      expectClean('postgres-restart', tally, ROUNDS);
    },
  );
  if (!PG_BIN) console.log('PostgreSQL restart skipped: no initdb/pg_ctl found');
});

describe('network between agents and server dropped and delayed (TCP proxy)', () => {
  it(`${ROUNDS} drops and ${ROUNDS} delays: 0 lost, 0 stuck`, {
    timeout: 120_000 + ROUNDS * 60_000,
  }, async () => {
    const server = await serverOn('sqlite');
    const proxy = new TcpProxy(server.opts.port);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const world = await setUpWorld(server, 2, { agentServerUrl: proxy.url });
    for (const a of world.agents) {
      cleanups.push(() => a.stop());
      a.start();
    }
    const tally = await rollout(server, world, ROUNDS * 2, async (round) => {
      await jitter(300);
      if (round % 2 === 1) {
        proxy.drop();
        await jitter(2000);
      } else {
        proxy.delayMs = 100 + Math.floor(random.next() * 900);
        await jitter(3000);
      }
      proxy.restore();
    });
    expectClean('network-drop-delay', tally, ROUNDS * 2);
  });
});

/** A small tmpfs for the agent's file-system root, or a reason why not. */
function smallDisk(): { dir: string; resize(kib: number): void; remove(): void } | string {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'bosun-rel-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${String(err).slice(0, 200)}`;
  }
  return {
    dir,
    resize: (kib) => execFileSync('mount', ['-o', `remount,size=${kib}k`, dir], { stdio: 'pipe' }),
    remove: () => {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('agent disk full', () => {
  const disk = smallDisk();
  if (typeof disk === 'string') console.log(`disk-full test skipped: ${disk}`);
  it.skipIf(typeof disk === 'string')(
    'reports the failure, keeps the old files, converges once space is freed',
    {
      timeout: 180_000,
    },
    async () => {
      if (typeof disk === 'string') return;
      cleanups.push(() => disk.remove());
      const server = await serverOn('sqlite');
      const world = await setUpWorld(server, 1, { fsRoots: [disk.dir] });
      const [agent] = world.agents;
      cleanups.push(() => agent!.stop());
      agent!.start();
      const deploy = async (round: number, padKiB: number) => {
        const ids = [];
        for (const [i, schema] of world.schemaIds.entries())
          ids.push(
            (
              await server.api('POST', 'config_instances', {
                config_schema_id: schema,
                content: { format: 'json', data: contentOf(round, i, padKiB) },
              })
            ).id,
          );
        return (
          await server.api('POST', 'deployments', {
            target_status: 'deployed',
            description: `disk round ${round}`,
            release_id: world.releaseId,
            device_id: agent!.deviceId,
            config_instance_ids: ids,
          })
        ).id as string;
      };
      const status = async (id: string) => (await server.api('GET', `deployments/${id}`)).status as string;
      let faults = 0;
      // Round 1 fits; round 2 (2 × 160 KiB) does not fit beside it in 256 KiB.
      const d1 = await deploy(1, 8);
      await waitFor('round 1 deployed', async () => (await status(d1)) === 'deployed');
      const d2 = await deploy(2, 160);
      faults++;
      const events = async () =>
        (await server.api('GET', `deployments/${d2}/events?limit=100`)).data as any[];
      const retried = await waitFor('the agent reports the full disk', async () =>
        (await events()).find((e) => e.to?.error_status === 'retrying' || e.to?.status === 'retrying'),
      );
      expect(retried.message, 'the report says why').toMatch(/ENOSPC|no space|disk full/i);
      // Old files intact, complete, and still the deployed round.
      for (const [i, p] of FILES.entries()) expect(roundOf(agent!.read(p) ?? '', i), p).toBe(1);
      disk.resize(4096);
      await waitFor('round 2 deployed once space is freed', async () => (await status(d2)) === 'deployed');
      await waitFor('round 1 archived', async () => (await status(d1)) === 'archived');
      for (const [i, p] of FILES.entries()) expect(roundOf(agent!.read(p) ?? '', i), p).toBe(2);
      recordFigures('fault-disk-full', { faults, lost: 0, stuck: 0, torn: 0, message: retried.message });
      console.log(`fault disk-full: reported "${retried.message}"; old files intact; converged after resize`);
    },
  );
});
