import { deviceStatus, shouldLogFailure } from '@bosun/core';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, freePort, RestartableServer, runCli, waitFor } from './support/fleet.ts';

/**
 * Presence of real `bosun agent run` processes, on the embedded broker and (with
 * BOSUN_TEST_MQTT_URL) on an external one: a clean stop and a SIGKILL are offline as soon as the
 * session ends, a frozen agent once the broker's keep-alive gives up on it, and an outage is logged
 * once and then at a backoff while the agent retries with jitter.
 *
 * "At once" is shown without timing: when the device reads offline, the 60 s contact rule alone
 * (the same record without the session's end) would still say online.
 */
const tag = Math.random().toString(36).slice(2, 8);
const BROKER = process.env.BOSUN_TEST_MQTT_URL;
const brokers: [string, string | undefined][] = [
  ['embedded', undefined],
  ...(BROKER ? [['external', BROKER] as [string, string]] : []),
];

describe.each(brokers)('presence of a real agent process (%s broker)', (kind, mqttUrl) => {
  let server: RestartableServer;
  const agents: AgentProcess[] = [];
  const devices: string[] = [];
  let n = 0;

  beforeAll(async () => {
    server = new RestartableServer(await freePort(), mqttUrl);
    await server.start();
  });
  afterAll(async () => {
    for (const a of agents) {
      a.proc?.kill('SIGCONT');
      a.proc?.kill('SIGKILL');
    }
    if (mqttUrl && devices.length) {
      // Leave nothing retained on the shared broker.
      const cleaner = await mqtt.connectAsync(mqttUrl, { clientId: `bosun-test-cleaner-${tag}` });
      for (const id of devices)
        for (const leaf of ['sync', 'presence'])
          await cleaner.publishAsync(`bosun/v1/devices/${id}/${leaf}`, '', { retain: true, qos: 1 });
      await cleaner.endAsync();
    }
    await server?.destroy();
  });

  const row = async (id: string) =>
    server
      .running!.store.db.selectFrom('devices')
      .select(['status', 'last_connected_at', 'last_disconnected_at', 'last_seen_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  async function startAgent(extra: string[] = []) {
    const device = await server.api('POST', 'devices', { name: `presence-${kind}-${tag}-${n++}` });
    devices.push(device.id);
    const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
    const agent = new AgentProcess(extra);
    agents.push(agent);
    const provisioned = await runCli(
      ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir],
      { BOSUN_ACTIVATION_TOKEN: token },
    );
    expect(provisioned.code, provisioned.stderr).toBe(0);
    agent.start();
    await waitFor('session open and device online', async () => {
      const d = await server.api('GET', `devices/${device.id}`);
      const open =
        d.last_connected_at && (!d.last_disconnected_at || d.last_connected_at > d.last_disconnected_at);
      return d.status === 'online' && open;
    });
    return { agent, id: device.id as string };
  }

  /** Waits until the API shows the device offline, and proves the session's end is why. */
  async function offlineBecauseSessionEnded(id: string) {
    await waitFor(
      'device offline',
      async () => (await server.api('GET', `devices/${id}`)).status === 'offline',
    );
    const r = await row(id);
    expect(r.last_disconnected_at).not.toBeNull();
    expect(r.last_seen_at).not.toBeNull();
    // Without the recorded end, the last contact would still count: offline did not wait for it.
    expect(deviceStatus({ ...r, last_disconnected_at: null, last_connected_at: null }, Date.now())).toBe(
      'online',
    );
  }

  it('a clean stop (SIGTERM) is offline at once', async () => {
    const { agent, id } = await startAgent();
    expect(await agent.stop()).toBe(0);
    await offlineBecauseSessionEnded(id);
  });

  it('a SIGKILLed agent is offline as soon as the broker sees its connection drop', async () => {
    const { agent, id } = await startAgent();
    const proc = agent.proc!;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
    await offlineBecauseSessionEnded(id);
  });

  it('a frozen agent (SIGSTOP, connection still open) is offline once the keep-alive expires', async () => {
    const { agent, id } = await startAgent(['--mqtt-keepalive', '2']);
    agent.proc!.kill('SIGSTOP');
    try {
      await offlineBecauseSessionEnded(id);
    } finally {
      agent.proc!.kill('SIGCONT');
    }
    // Thawed, it reconnects and is online again.
    await waitFor('online again', async () => (await server.api('GET', `devices/${id}`)).status === 'online');
    expect(await agent.stop()).toBe(0);
  });

  it('a server outage is logged once and then at a backoff; the agent comes back by itself', async () => {
    const { agent, id } = await startAgent();
    const lines = () =>
      agent.log
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; failed_attempts?: number; attempts?: number });
    const from = lines().length;
    await server.stop();
    // With a 1 s poll, 8 failed fetches take a few seconds (full jitter from 1 s, capped at 1 s).
    await waitFor('8 failed fetches', async () =>
      lines()
        .slice(from)
        .some((l) => l.msg.startsWith('server unreachable') && (l.failed_attempts ?? 0) >= 8),
    );
    await server.start();
    await waitFor('server reachable again', async () =>
      lines()
        .slice(from)
        .some((l) => l.msg === 'server reachable again'),
    );
    const outage = lines().slice(from);
    const unreachable = outage.filter((l) => l.msg.startsWith('server unreachable'));
    expect(unreachable.map((l) => l.failed_attempts).slice(0, 4)).toEqual([1, 2, 4, 8]);
    for (const l of unreachable) expect(shouldLogFailure(l.failed_attempts!)).toBe(true);
    for (const l of outage.filter((x) => x.msg === 'push channel error'))
      expect(shouldLogFailure(l.attempts!)).toBe(true);
    await waitFor('online after the outage', async () => {
      const d = await server.api('GET', `devices/${id}`);
      return d.status === 'online';
    });
    expect(await agent.stop()).toBe(0);
  });
});
