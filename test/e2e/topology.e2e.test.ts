import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFetch } from '@bosun/sdk/node-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEngine } from '../support/store.ts';
import { makeTestPki, type TestPki } from '../support/tls-certs.ts';
import { AgentProcess, repoRoot, waitFor } from './support/fleet.ts';
import { Platform, provisionAgent } from './support/platform.ts';

/**
 * The reference topology of docs/scale.md, brought up by `deploy/topology/up.sh` exactly as an
 * operator would: a new PostgreSQL database, Mosquitto with dynamic security and a TLS listener,
 * three replicas started together, haproxy terminating TLS in front. Real agents enrol through the
 * load balancer with the topology's CA, a deployment reaches them, one replica is killed, and the
 * next deployment reaches them too. Then `down.sh` takes it all away.
 */

const has = (tool: string) =>
  spawnSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]).status === 0;

const skipReason =
  httpEngine() !== 'postgres'
    ? 'PostgreSQL runs only (BOSUN_TEST_ENGINE=postgres): replicas share one PostgreSQL'
    : !has('haproxy')
      ? 'haproxy is not installed (apt-get install haproxy)'
      : !has('mosquitto') || !has('mosquitto_ctrl')
        ? 'mosquitto is not installed (apt-get install mosquitto)'
        : undefined;

const tag = Math.random().toString(36).slice(2, 8);

describe.skipIf(skipReason !== undefined)(
  `reference topology: 3 replicas behind haproxy, Mosquitto with dynamic security, TLS${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let parent = '';
    let dir = '';
    let env: Record<string, string> = {};
    let platform: Platform;
    const agents = [new AgentProcess(), new AgentProcess()];
    const devices: { id: string; token: string }[] = [];
    let rel: { releaseId: string; schemaId: string };
    const read = (a: AgentProcess) =>
      existsSync(a.path('/etc/robot/topo.json')) ? readFileSync(a.path('/etc/robot/topo.json'), 'utf8') : '';

    beforeAll(async () => {
      parent = mkdtempSync(join(tmpdir(), 'bosun-topo-test-'));
      // Mosquitto and haproxy may run as their own users (started as root): they must reach DIR.
      chmodSync(parent, 0o755);
      dir = join(parent, 'topology');
      const up = spawnSync(join(repoRoot, 'deploy', 'topology', 'up.sh'), [dir], {
        env: {
          ...process.env,
          BOSUN_TOPO_REPLICAS: '3',
          BOSUN_TOPO_PG_URL: process.env.BOSUN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        },
        encoding: 'utf8',
      });
      if (up.status !== 0) {
        // The replicas' own logs say why one exited; the temp directory is gone after the test.
        const logs = [1, 2, 3]
          .map((i) => join(dir, `replica${i}`, 'log'))
          .filter((f) => existsSync(f))
          .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').slice(-2000)}`)
          .join('\n');
        throw new Error(`up.sh failed (${up.status}):\n${up.stdout}\n${up.stderr}\n${logs}`);
      }
      env = Object.fromEntries(
        readFileSync(join(dir, 'topology.env'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      platform = new Platform(
        env.BOSUN_SERVER!,
        env.BOSUN_API_KEY!,
        createNodeFetch({ ca: readFileSync(env.BOSUN_CA_FILE!) }),
      );
    }, 300_000);

    afterAll(async () => {
      for (const a of agents) await a.stop();
      if (dir && existsSync(join(dir, 'topology.env'))) {
        execFileSync(join(repoRoot, 'deploy', 'topology', 'down.sh'), [dir], { stdio: 'ignore' });
      }
      if (parent) rmSync(parent, { recursive: true, force: true });
    }, 120_000);

    it('up.sh wrote the load balancer (https), the broker for robots (mqtts) and three replicas', () => {
      expect(env.BOSUN_SERVER).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(env.BOSUN_MQTT_PUBLIC_URL).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
      expect(env.BOSUN_TOPO_REPLICA_PIDS!.split(',')).toHaveLength(3);
    });

    it('agents enrol through the load balancer with the topology CA and get a deployment', async () => {
      for (const [i, a] of agents.entries()) {
        const device = await platform.newDevice(`topo-${i}-${tag}`);
        devices.push(device);
        const out = await provisionAgent(env.BOSUN_SERVER!, a.stateDir, device.token, [
          '--ca-file',
          env.BOSUN_CA_FILE!,
        ]);
        expect(out.code, out.stderr).toBe(0);
        a.start();
      }
      rel = await platform.release(`topo-${tag}`, '/etc/robot/topo.json');
      for (const d of devices) await platform.deploy(d.id, rel, '{"round": 1}');
      for (const a of agents) await waitFor('round 1 on disk', async () => read(a).includes('1'));
      // Both hold a broker session (mqtts, dynamic security): the server shows them online.
      for (const d of devices)
        await waitFor(
          'online',
          async () => (await platform.api('GET', `devices/${d.id}`)).status === 'online',
        );
    });

    it('with one replica killed, the next deployment is still delivered to every agent', async () => {
      const [victim] = env.BOSUN_TOPO_REPLICA_PIDS!.split(',').map(Number);
      const [victimUrl] = env.BOSUN_TOPO_REPLICA_URLS!.split(',');
      process.kill(victim!, 'SIGKILL');
      await waitFor('the replica gone', async () =>
        createNodeFetch({})(`${victimUrl}/healthz`, {}).then(
          () => false,
          () => true,
        ),
      );
      // Every call below goes through haproxy, which routes around the dead replica.
      const round2: string[] = [];
      for (const d of devices) round2.push(await platform.deploy(d.id, rel, '{"round": 2}'));
      for (const a of agents) await waitFor('round 2 on disk', async () => read(a).includes('2'));
      // …and reported back through the load balancer to the surviving replicas.
      for (const id of round2)
        await waitFor(
          'deployed',
          async () => (await platform.api('GET', `deployments/${id}`)).status === 'deployed',
        );
    });

    it('down.sh stops everything it started and drops the database', async () => {
      for (const a of agents) await a.stop();
      execFileSync(join(repoRoot, 'deploy', 'topology', 'down.sh'), [dir], { stdio: 'ignore' });
      expect(existsSync(dir)).toBe(false);
      for (const pid of [
        ...env.BOSUN_TOPO_REPLICA_PIDS!.split(','),
        env.BOSUN_TOPO_MOSQUITTO_PID!,
        env.BOSUN_TOPO_HAPROXY_PID!,
      ]) {
        expect(() => process.kill(Number(pid), 0)).toThrow();
      }
      const left = execFileSync(
        'psql',
        [
          env.BOSUN_TOPO_PG_URL!,
          '-Atc',
          `select count(*) from pg_database where datname = '${env.BOSUN_TOPO_DATABASE}'`,
        ],
        { encoding: 'utf8' },
      ).trim();
      expect(left).toBe('0');
    });
  },
);

describe.skipIf(!has('haproxy') || !has('nginx'))(
  `the shipped load balancer configurations are valid${!has('haproxy') || !has('nginx') ? ' (skipped: haproxy or nginx is not installed)' : ''}`,
  () => {
    let pki: TestPki;
    beforeAll(() => {
      pki = makeTestPki();
    });
    afterAll(() => pki?.destroy());

    it('haproxy -c accepts deploy/haproxy/haproxy.cfg', () => {
      writeFileSync(
        join(pki.dir, 'lb.pem'),
        readFileSync(pki.certFile, 'utf8') + readFileSync(pki.keyFile, 'utf8'),
      );
      const check = spawnSync('haproxy', ['-c', '-f', join(repoRoot, 'deploy', 'haproxy', 'haproxy.cfg')], {
        env: {
          ...process.env,
          PATH: `${process.env.PATH}:/usr/sbin`,
          BOSUN_LB_BIND: '127.0.0.1:8443',
          BOSUN_LB_CERT: join(pki.dir, 'lb.pem'),
        },
        encoding: 'utf8',
      });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    });

    it('nginx -t accepts deploy/nginx/bosun.conf (with this run’s certificate)', () => {
      const conf = readFileSync(join(repoRoot, 'deploy', 'nginx', 'bosun.conf'), 'utf8')
        .replace('/etc/bosun/tls/bosun.crt', pki.certFile)
        .replace('/etc/bosun/tls/bosun.key', pki.keyFile);
      writeFileSync(join(pki.dir, 'bosun.conf'), conf);
      writeFileSync(
        join(pki.dir, 'nginx.conf'),
        `pid ${pki.dir}/nginx.pid;\nerror_log ${pki.dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${pki.dir}/bosun.conf;\n}\n`,
      );
      const check = spawnSync('nginx', ['-t', '-p', pki.dir, '-c', join(pki.dir, 'nginx.conf')], {
        env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` },
        encoding: 'utf8',
      });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    });
  },
);
