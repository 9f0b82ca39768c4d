/**
 * The HTTP broker auth endpoint (docs/decisions.md #60): decisions per second with the login cache
 * warm, as a broker would call it (fetch's keep-alive pool, BENCH_AUTH_CONCURRENCY requests at once), for
 * device logins (`/authenticate`, cached) and topic checks (`/authorize`, no database). The server
 * connects to its own anonymous Mosquitto. Knobs: BENCH_AUTH_REQUESTS (20000), BENCH_AUTH_DEVICES
 * (50), BENCH_AUTH_CONCURRENCY (32).
 */
import { mosquittoBinary, OwnMosquitto } from '../test/reliability/support/services.ts';
import { provisionDevice, type TestDevice } from '../test/support/device-agent.ts';
import { startTestServer } from '../test/support/server.ts';
import type { Bench, BenchResult } from './run.ts';

const REQUESTS = Number(process.env.BENCH_AUTH_REQUESTS ?? 20_000);
const DEVICES = Number(process.env.BENCH_AUTH_DEVICES ?? 50);
const CONCURRENCY = Number(process.env.BENCH_AUTH_CONCURRENCY ?? 32);
const SECRET = 'bench-broker-auth-secret-0123456789';

async function decide(url: string, body: unknown): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    body: JSON.stringify(body),
  });
  return ((await res.json()) as { result: string }).result;
}

async function rate(url: string, bodies: (i: number) => unknown): Promise<number> {
  let next = 0;
  let denied = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < REQUESTS; i = next++) {
        if ((await decide(url, bodies(i))) !== 'allow') denied++;
      }
    }),
  );
  if (denied) throw new Error(`${denied} decisions were deny`);
  return REQUESTS / (Number(process.hrtime.bigint() - started) / 1e9);
}

const bench: Bench = {
  name: 'broker-auth',
  async run(): Promise<BenchResult[]> {
    const bin = mosquittoBinary();
    if (!bin) return [];
    const broker = new OwnMosquitto(bin);
    await broker.start();
    const t = await startTestServer({
      config: {
        mqttUrl: `mqtt://bosun-server:bench-server-password@127.0.0.1:${broker.port}`,
        mqttAuth: 'http',
        brokerAuthSecret: SECRET,
      },
    });
    try {
      const devices: TestDevice[] = [];
      for (let i = 0; i < DEVICES; i++) devices.push(await provisionDevice(t));
      const login = (i: number) => {
        const d = devices[i % devices.length]!;
        return { username: d.id, password: d.token, clientid: d.id };
      };
      for (let i = 0; i < devices.length; i++) await decide(`${t.url}/broker/v1/authenticate`, login(i));
      const logins = await rate(`${t.url}/broker/v1/authenticate`, login);
      const topics = await rate(`${t.url}/broker/v1/authorize`, (i) => {
        const d = devices[i % devices.length]!;
        return {
          username: d.id,
          clientid: d.id,
          action: 'subscribe',
          topic: `bosun/v1/devices/${d.id}/sync`,
        };
      });
      const note = `${CONCURRENCY} concurrent requests, ${DEVICES} devices, SQLite`;
      return [
        { metric: 'login decisions/s (cache warm)', value: Math.round(logins), unit: '/s', note },
        { metric: 'topic decisions/s', value: Math.round(topics), unit: '/s', note },
      ];
    } finally {
      await t.close();
      await broker.destroy();
    }
  },
};
export default bench;
