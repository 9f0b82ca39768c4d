/**
 * Connect storm through Mosquitto with dynamic security (docs/decisions.md #59): BENCH_STORM_DEVICES
 * provisioned robots all ask for broker credentials and connect at once, as after a fleet-wide
 * restart; counts failed connections and the time until every robot is connected. Our own Mosquitto
 * on a free port; server on SQLite. Knob: BENCH_STORM_DEVICES (300).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { dynsecPlugin, mosquittoBinary, OwnMosquitto } from '../test/reliability/support/services.ts';
import { provisionDevice, type TestDevice } from '../test/support/device-agent.ts';
import { startTestServer } from '../test/support/server.ts';
import type { Bench, BenchResult } from './run.ts';

const DEVICES = Number(process.env.BENCH_STORM_DEVICES ?? 300);

const bench: Bench = {
  name: 'broker-storm',
  async run(): Promise<BenchResult[]> {
    const bin = mosquittoBinary();
    if (!bin || !dynsecPlugin()) return [];
    const broker = new OwnMosquitto(bin, {
      dynsec: { admin: 'bosun-server', password: 'bench-storm-admin-0123456789' },
    });
    await broker.start();
    const t = await startTestServer({ config: { mqttUrl: broker.adminUrl, mqttAuth: 'dynsec' } });
    const clients: MqttClient[] = [];
    try {
      const devices: TestDevice[] = [];
      for (let i = 0; i < DEVICES; i++) devices.push(await provisionDevice(t));
      let failed = 0;
      let retries = 0;
      const reasons = new Map<string, number>();
      const started = process.hrtime.bigint();
      await Promise.all(
        devices.map(async (d) => {
          try {
            // As the agent does: a 503 (broker busy) is retried after a jittered wait.
            let res = await d.api('POST', '/mqtt_credentials');
            for (let attempt = 1; res.status === 503 && attempt < 6; attempt++) {
              retries++;
              await new Promise((r) => setTimeout(r, Math.random() * 1000 * 2 ** attempt));
              res = await d.api('POST', '/mqtt_credentials');
            }
            if (res.status !== 200) throw new Error(`credentials ${res.status}`);
            const c = await mqtt.connectAsync(broker.url, {
              clientId: d.id,
              username: d.id,
              password: res.body.password,
              reconnectPeriod: 0,
              connectTimeout: 60_000,
            });
            clients.push(c);
          } catch (err) {
            failed++;
            reasons.set(
              String((err as Error).message),
              (reasons.get(String((err as Error).message)) ?? 0) + 1,
            );
          }
        }),
      );
      if (reasons.size) console.log('failures:', Object.fromEntries(reasons));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const note = `${DEVICES} robots at once, credentials + CONNECT, SQLite`;
      return [
        { metric: 'failed connections', value: failed, unit: '', note },
        { metric: 'credential requests retried (503)', value: retries, unit: '', note },
        { metric: 'all connected after', value: Math.round(seconds * 100) / 100, unit: 's', note },
      ];
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await t.close();
      await broker.destroy();
    }
  },
};
export default bench;
