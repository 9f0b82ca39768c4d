/**
 * Push channel and agent API, server side: ping round trip through the embedded broker (and through
 * an external one when BOSUN_TEST_MQTT_URL is set), sync-hint fan-out to many connected devices, and
 * the cost of an agent's poll that finds nothing new (GET /agent/v1/state → 304). SQLite.
 * Knobs: BENCH_PINGS (300), BENCH_PUSH_DEVICES (200), BENCH_POLLS (3000), BENCH_POLL_CONCURRENCY (16).
 */
import type { MqttClient } from 'mqtt';
import { createDeployment, createInstance, createRelease } from '../test/support/deployments.ts';
import {
  answerPings,
  connectDevice,
  provisionDevice,
  type TestDevice,
} from '../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../test/support/server.ts';
import type { Bench, BenchResult } from './run.ts';

const PINGS = Number(process.env.BENCH_PINGS ?? 300);
const DEVICES = Number(process.env.BENCH_PUSH_DEVICES ?? 200);
const POLLS = Number(process.env.BENCH_POLLS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_POLL_CONCURRENCY ?? 16);

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (n: number) => Math.round(n * 100) / 100;

async function pings(t: TestServer, label: string, brokerUrl: string): Promise<BenchResult[]> {
  const d = await provisionDevice(t);
  const client = await connectDevice(brokerUrl, d);
  await answerPings(client, d.id);
  const trips: number[] = [];
  const requests: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const start = performance.now();
    const res = await t.api('POST', `devices/${d.id}/ping`, { body: { timeout_nanos: 5_000_000_000 } });
    requests.push(performance.now() - start);
    if (res.body.code !== 'success') throw new Error(`ping ${i}: ${res.text}`);
    trips.push(res.body.round_trip_nanos / 1e6);
  }
  await client.endAsync();
  trips.sort((a, b) => a - b);
  requests.sort((a, b) => a - b);
  return [
    {
      metric: `ping round trip p50 (${label})`,
      value: ms(quantile(trips, 0.5)),
      unit: 'ms',
      note: `${PINGS} pings`,
    },
    { metric: `ping round trip p99 (${label})`, value: ms(quantile(trips, 0.99)), unit: 'ms' },
    { metric: `POST /ping request p50 (${label})`, value: ms(quantile(requests, 0.5)), unit: 'ms' },
  ];
}

async function fanOut(t: TestServer): Promise<BenchResult[]> {
  const devices: TestDevice[] = [];
  for (let i = 0; i < DEVICES; i++) devices.push(await provisionDevice(t));
  const clients: MqttClient[] = [];
  for (const d of devices) {
    const c = await connectDevice(d.mqttUrl, d);
    await c.subscribeAsync(`${d.topicPrefix}sync`, { qos: 1 });
    clients.push(c);
  }
  const received = clients.map(
    (c) => new Promise<number>((resolve) => c.once('message', () => resolve(performance.now()))),
  );
  const start = performance.now();
  for (const d of devices) t.server.app.notifier.notify(d.id, 'deployment_changed');
  const arrivals = (await Promise.all(received)).map((at) => at - start).sort((a, b) => a - b);
  for (const c of clients) await c.endAsync();
  return [
    {
      metric: `sync hint to ${DEVICES} connected devices: last arrival`,
      value: ms(arrivals.at(-1)!),
      unit: 'ms',
    },
    { metric: 'sync hint arrival p50', value: ms(quantile(arrivals, 0.5)), unit: 'ms' },
  ];
}

async function polls(t: TestServer): Promise<BenchResult[]> {
  const release = await createRelease(t);
  const d = await provisionDevice(t);
  const instance = await createInstance(t, release);
  await createDeployment(t, { deviceId: d.id, release, instanceId: instance.id });
  const etag = (await d.api('GET', '/state')).headers.get('etag')!;
  let next = 0;
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < POLLS) {
        next++;
        const s = performance.now();
        const res = await d.api('GET', '/state', { headers: { 'if-none-match': etag } });
        latencies.push(performance.now() - s);
        if (res.status !== 304) throw new Error(`poll: ${res.status}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return [
    {
      metric: 'GET /agent/v1/state → 304 (one deployment)',
      value: Math.round(POLLS / seconds),
      unit: 'req/s',
      note: `${CONCURRENCY} clients`,
    },
    { metric: 'GET /agent/v1/state → 304 p50', value: ms(quantile(latencies, 0.5)), unit: 'ms' },
    { metric: 'GET /agent/v1/state → 304 p99', value: ms(quantile(latencies, 0.99)), unit: 'ms' },
  ];
}

const bench: Bench = {
  name: 'push channel and agent API',
  async run() {
    const results: BenchResult[] = [];
    const t = await startTestServer({ engine: 'sqlite' });
    try {
      results.push(...(await pings(t, 'embedded, WebSocket', `${t.url.replace('http', 'ws')}/mqtt`)));
      results.push(...(await polls(t)));
      results.push(...(await fanOut(t)));
    } finally {
      await t.close();
    }
    const broker = process.env.BOSUN_TEST_MQTT_URL;
    if (broker) {
      const ext = await startTestServer({ engine: 'sqlite', config: { mqttUrl: broker } });
      try {
        results.push(...(await pings(ext, 'external Mosquitto', broker)));
      } finally {
        await ext.close();
      }
    }
    return results;
  },
};
export default bench;
