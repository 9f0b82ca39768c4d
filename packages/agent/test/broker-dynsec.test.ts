import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynsecPlugin, mosquittoBinary, OwnMosquitto } from '../../../test/reliability/support/services.ts';
import { eventually } from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { deploy, newAgent, newDevice, ok, releaseWithFile } from './support/world.ts';

/**
 * A real agent through Mosquitto with dynamic security (docs/decisions.md #59): it asks the server
 * for its broker password, connects, and a deployment reaches it by push alone (the poll is an hour).
 */
const MOSQUITTO = mosquittoBinary();
const usable = MOSQUITTO !== undefined && dynsecPlugin() !== undefined;

describe.skipIf(!usable)('agent on a Mosquitto broker with dynamic security', () => {
  let broker: OwnMosquitto;
  let t: TestServer;
  beforeAll(async () => {
    broker = new OwnMosquitto(MOSQUITTO!, {
      dynsec: { admin: 'bosun-server', password: 'agent-test-broker-secret-0123' },
    });
    await broker.start();
    t = await startTestServer({ config: { mqttUrl: broker.adminUrl, mqttAuth: 'dynsec' } });
  });
  afterAll(async () => {
    await t?.close();
    await broker?.destroy();
  });

  it('connects with issued credentials, gets hints, and shows online then offline', async () => {
    const device = await newDevice(t);
    const agent = newAgent(device, { push: true });
    await agent.start();
    try {
      await eventually(
        async () => (await ok(t, 'GET', `devices/${device.id}`)).status === 'online',
        'device online',
      );
      await agent.sync();
      const r = await releaseWithFile(t, '/etc/robot/dynsec.json', '{"push": "dynsec"}');
      await deploy(t, device.id, r);
      const file = join(device.fsRoot, 'etc/robot/dynsec.json');
      await eventually(async () => existsSync(file), 'deployment applied by push');
      expect(readFileSync(file, 'utf8')).toBe('{"push": "dynsec"}');
    } finally {
      await agent.stop();
    }
    // A clean stop publishes `offline` through the broker.
    await eventually(
      async () => (await ok(t, 'GET', `devices/${device.id}`)).status === 'offline',
      'device offline after a clean stop',
    );
  });
});
