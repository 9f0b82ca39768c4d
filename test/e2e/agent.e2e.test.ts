import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, freePort, RestartableServer, runCli, waitFor } from './support/fleet.ts';

/**
 * The whole path with real parts: a server (SQLite, or PostgreSQL with BOSUN_TEST_ENGINE=postgres;
 * embedded broker, or Mosquitto at BOSUN_TEST_MQTT_URL), `bosun agent provision` and two
 * `bosun agent run` processes writing into their own file-system roots.
 */

// The embedded broker always; the external one (Mosquitto in CI) as well when it is configured.
const BROKERS = process.env.BOSUN_TEST_MQTT_URL ? ['embedded', 'external'] : ['embedded'];

const JSON_SCHEMA = JSON.stringify({ type: 'object' });
const tag = Math.random().toString(36).slice(2, 8);

describe.each(BROKERS)('%s broker', (broker) => {
  let server: RestartableServer;
  const a = new AgentProcess();
  // Agent B gives up quickly so the unwritable-path case reaches `failed` within the test.
  const b = new AgentProcess(['--retry-base', '100', '--retry-cap', '400', '--max-attempts', '3']);
  let deviceA: { id: string; name: string };
  let deviceB: { id: string; name: string };
  // The cases run in order and build on each other, like an operator's session.
  let d1: string;
  let d2: string;
  const w = {} as Record<
    | 'mob'
    | 'nav'
    | 'mob2'
    | 'blocked'
    | 'v1'
    | 'v2'
    | 'v3'
    | 'Imob1'
    | 'Inav1'
    | 'Imob2'
    | 'Inav2'
    | 'Iblocked',
    string
  >;
  const content = {
    mob1: '{"max_speed": 1.0}\n',
    nav1: '{"planner": "teb"}\n',
    mob2: '{"max_speed": 1.5, "accel": 0.5}\n',
    nav2: '{"planner": "dwb", "horizon": 3}\n',
  };

  const deployment = (id: string) => server.api(`GET`, `deployments/${id}`);
  const events = async (id: string) =>
    (await server.api('GET', `deployments/${id}/events?limit=100`)).data as any[];
  const statusIs = (id: string, status: string) => async () => (await deployment(id)).status === status;
  const read = (agent: AgentProcess, path: string) =>
    existsSync(agent.path(path)) ? readFileSync(agent.path(path), 'utf8') : null;

  async function provision(agent: AgentProcess, name: string) {
    const device = await server.api('POST', 'devices', { name });
    const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
    const args = ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir];
    const first = await runCli(args, { BOSUN_ACTIVATION_TOKEN: token });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`activated as ${name} (${device.id})`);
    return device as { id: string; name: string };
  }

  async function createDeployment(deviceId: string, releaseId: string, ids: string[], target = 'deployed') {
    return (
      await server.api('POST', 'deployments', {
        target_status: target,
        description: `e2e ${target}`,
        release_id: releaseId,
        device_id: deviceId,
        config_instance_ids: ids,
      })
    ).id as string;
  }

  beforeAll(async () => {
    server = new RestartableServer(
      await freePort(),
      broker === 'embedded' ? undefined : process.env.BOSUN_TEST_MQTT_URL,
    );
    await server.start();
    const type = async (name: string) =>
      (
        await server.api('POST', 'config_types', {
          name: `${name} ${tag}`,
          slug: `${name.toLowerCase()}-${tag}`,
        })
      ).id;
    const schema = async (typeId: string, path: string) =>
      (
        await server.api('POST', 'config_schemas', {
          config_type_ref: { id: typeId },
          instance_filepath: path,
          language: 'jsonschema',
          format: 'json',
          documents: [{ name: 'schema.json', data: JSON_SCHEMA }],
        })
      ).id;
    const instance = async (schemaId: string, data: string) =>
      (
        await server.api('POST', 'config_instances', {
          config_schema_id: schemaId,
          content: { format: 'json', data },
        })
      ).id;
    const mobility = await type('Mobility');
    const navigation = await type('Navigation');
    const lidar = await type('Lidar');
    w.mob = await schema(mobility, '/etc/robot/mobility.json');
    w.nav = await schema(navigation, '/srv/bosun/configs/navigation.json');
    w.mob2 = await schema(mobility, '/etc/robot/v2/mobility.json');
    // On agent B's disk /etc/blocked is a regular file, so nothing can be created below it.
    w.blocked = await schema(lidar, '/etc/blocked/lidar.json');
    w.v1 = (
      await server.api('POST', 'releases', { version: `1.0.0-${tag}`, config_schema_ids: [w.mob, w.nav] })
    ).id;
    w.v2 = (
      await server.api('POST', 'releases', { version: `2.0.0-${tag}`, config_schema_ids: [w.mob2, w.nav] })
    ).id;
    w.v3 = (
      await server.api('POST', 'releases', { version: `3.0.0-${tag}`, config_schema_ids: [w.blocked] })
    ).id;
    w.Imob1 = await instance(w.mob, content.mob1);
    w.Inav1 = await instance(w.nav, content.nav1);
    w.Imob2 = await instance(w.mob2, content.mob2);
    w.Inav2 = await instance(w.nav, content.nav2);
    w.Iblocked = await instance(w.blocked, '{"hz": 10}');
    deviceA = await provision(a, `amr-a-${tag}`);
    deviceB = await provision(b, `amr-b-${tag}`);
    mkdirSync(dirname(b.path('/etc/blocked')), { recursive: true });
    writeFileSync(b.path('/etc/blocked'), 'not a directory');
  });

  afterAll(async () => {
    await a.stop();
    await b.stop();
    await server?.destroy();
  });

  describe('agent end to end', () => {
    it('provisioning stored a 0600 key, and running it again is a no-op', async () => {
      expect(statSync(`${a.stateDir}/identity/private_key.pem`).mode & 0o777).toBe(0o600);
      const keyBefore = readFileSync(`${a.stateDir}/identity/private_key.pem`, 'utf8');
      const again = await runCli(['agent', 'provision', '--server', server.url, '--state-dir', a.stateDir], {
        BOSUN_ACTIVATION_TOKEN: 'bsn_act_unused',
      });
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('already activated');
      expect(readFileSync(`${a.stateDir}/identity/private_key.pem`, 'utf8')).toBe(keyBefore);
      const fresh = `${a.stateDir}-new`;
      const noToken = await runCli(['agent', 'provision', '--server', server.url, '--state-dir', fresh], {
        BOSUN_ACTIVATION_TOKEN: '',
      });
      expect(noToken.code).toBe(2);
      expect(noToken.stderr).toContain('an activation token is required (--token or BOSUN_ACTIVATION_TOKEN)');
      expect(existsSync(fresh)).toBe(false);
    });

    it('a deployment created deployed reaches the disk and is reported deployed', async () => {
      a.start();
      d1 = await createDeployment(deviceA.id, w.v1, [w.Imob1, w.Inav1]);
      await waitFor('d1 deployed', statusIs(d1, 'deployed'));
      expect(read(a, '/etc/robot/mobility.json')).toBe(content.mob1);
      expect(read(a, '/srv/bosun/configs/navigation.json')).toBe(content.nav1);
      const last = (await events(d1)).at(-1);
      expect(last).toMatchObject({ actor: { type: 'agent', id: deviceA.id }, to: { status: 'deployed' } });
    });

    it('a second deployment replaces the first: old files removed, new written, archived/deployed', async () => {
      d2 = await createDeployment(deviceA.id, w.v2, [w.Imob2, w.Inav2], 'staged');
      await server.api('POST', `deployments/${d2}/deploy`);
      await waitFor('d2 deployed', statusIs(d2, 'deployed'));
      await waitFor('d1 archived', statusIs(d1, 'archived'));
      expect(read(a, '/etc/robot/mobility.json')).toBeNull();
      expect(read(a, '/etc/robot/v2/mobility.json')).toBe(content.mob2);
      expect(read(a, '/srv/bosun/configs/navigation.json')).toBe(content.nav2);
    });

    it('a file edited on the robot is detected and restored', async () => {
      writeFileSync(a.path('/srv/bosun/configs/navigation.json'), '{"planner": "edited by hand"}');
      await waitFor(
        'drift restored',
        async () => read(a, '/srv/bosun/configs/navigation.json') === content.nav2,
      );
      await waitFor('drift logged', async () =>
        a.log.includes('Drift on the device: /srv/bosun/configs/navigation.json was changed; restored'),
      );
      // The server's history of the deployment names the file, and no status moved.
      await waitFor('drift event on the server', async () => {
        const history = await server.api('GET', `deployments/${d2}/events?limit=100`);
        return history.data.some((e: any) => e.message?.includes('/srv/bosun/configs/navigation.json'));
      });
      expect((await deployment(d2)).status).toBe('deployed');
    });

    it('ping answers success while the agent runs and timeout once it is stopped', async () => {
      await waitFor('ping success', async () => {
        const res = await server.api('POST', `devices/${deviceA.id}/ping`, { timeout_nanos: 2_000_000_000 });
        return res.code === 'success';
      });
      expect(await a.stop()).toBe(0);
      const res = await server.api('POST', `devices/${deviceA.id}/ping`, { timeout_nanos: 500_000_000 });
      expect(res.code).toBe('timeout');
    });

    it('an unwritable path is reported retrying with the message, then failed', async () => {
      b.start();
      const d3 = await createDeployment(deviceB.id, w.v3, [w.Iblocked]);
      await waitFor('d3 failed', statusIs(d3, 'failed'));
      const history = await events(d3);
      const retrying = history.filter((e) => e.to.status === 'retrying');
      expect(retrying.map((e) => e.attempt)).toEqual([1, 2]);
      for (const e of retrying)
        expect(e.message).toMatch(/cannot create the directory for \/etc\/blocked\/lidar\.json/);
      const failed = history.at(-1);
      expect(failed).toMatchObject({
        to: { status: 'failed' },
        attempt: 3,
        actor: { type: 'agent', id: deviceB.id },
      });
      expect(failed.message).toMatch(/\/etc\/blocked\/lidar\.json/);
    });

    it('an agent started while the server is down catches up', async () => {
      expect(await b.stop()).toBe(0);
      const d4 = await createDeployment(deviceB.id, w.v1, [w.Imob1, w.Inav2]);
      await server.stop();
      b.start();
      await waitFor('agent noticed the server is down', async () => b.log.includes('server unreachable'));
      await server.start();
      await waitFor('d4 deployed', statusIs(d4, 'deployed'));
      expect(read(b, '/etc/robot/mobility.json')).toBe(content.mob1);
      expect(read(b, '/srv/bosun/configs/navigation.json')).toBe(content.nav2);
    });

    it('never logs tokens or keys', () => {
      for (const log of [a.log, b.log]) {
        expect(log).not.toMatch(/bsn_(dat|act)_/);
        expect(log).not.toContain('PRIVATE KEY');
        expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
      }
    });
  });
});
