import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, freePort, RestartableServer, runCli, waitFor } from './support/fleet.ts';

/**
 * Issue 19 item 4 with real processes: a robot pinned to server A's URL, an external broker
 * (Mosquitto at BOSUN_TEST_MQTT_URL), and a deployment created through server B (same database) while
 * A is down. The hint reaches the robot through the broker but its fetches fail; it must keep retrying
 * at most a few seconds apart (jittered), not fall back to its poll, which is set to 10 minutes here so
 * only the quick retry can deliver within the wait.
 */
const BROKER = process.env.BOSUN_TEST_MQTT_URL;
const tag = Math.random().toString(36).slice(2, 8);

describe.skipIf(!BROKER)('a deployment made during an outage', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  const agent = new AgentProcess(['--poll-interval', '600']);

  beforeAll(async () => {
    a = new RestartableServer(await freePort(), BROKER);
    await a.start();
    b = new RestartableServer(await freePort(), BROKER, { database: a.database, adminKey: a.adminKey });
    await b.start();
  });

  afterAll(async () => {
    await agent.stop();
    await b?.stop();
    await a?.destroy();
  });

  it('is applied soon after the pinned server returns, not at the next poll', async () => {
    const type = await a.api('POST', 'config_types', { name: `Outage ${tag}`, slug: `outage-${tag}` });
    const schema = await a.api('POST', 'config_schemas', {
      config_type_ref: { id: type.id },
      instance_filepath: '/etc/robot/outage.json',
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
    });
    const release = await a.api('POST', 'releases', {
      version: `1.0.0-${tag}`,
      config_schema_ids: [schema.id],
    });
    const instance = await a.api('POST', 'config_instances', {
      config_schema_id: schema.id,
      content: { format: 'json', data: '{"mode": "outage"}' },
    });
    const device = await a.api('POST', 'devices', { name: `amr-outage-${tag}` });
    const { token } = await a.api('POST', `devices/${device.id}/activation_token`, {});
    const provision = await runCli(['agent', 'provision', '--server', a.url, '--state-dir', agent.stateDir], {
      BOSUN_ACTIVATION_TOKEN: token,
    });
    expect(provision.code, provision.stderr).toBe(0);
    agent.start();
    await waitFor(
      'the agent online',
      async () => (await a.api('GET', `devices/${device.id}`)).status === 'online',
    );
    await waitFor('the first pass', async () => agent.log.includes('"reason":"start"'));

    await a.stop();
    const created = await b.api('POST', 'deployments', {
      target_status: 'deployed',
      description: 'made during the outage',
      release_id: release.id,
      device_id: device.id,
      config_instance_ids: [instance.id],
    });
    // The hint arrived through the broker and the fetches fail. Eight failures in a row: a poll
    // backoff would now wait up to a minute (or the 10 minute poll); the pending-work retry stays
    // within a few seconds.
    await waitFor('a hint during the outage', async () => agent.log.includes('"reason":"push"'));
    await waitFor('eight failed attempts', async () => agent.log.includes('"failed_attempts":8'));
    // What the scheduler decided after the hint (its own log lines, not wall-clock time): every pass
    // scheduled while the server was down was a pending-work retry, at most PENDING_WORK_JITTER's cap
    // (4 s) away, where a poll backoff would have grown towards the 10 minute interval.
    const afterHint = agent.log.slice(agent.log.indexOf('"reason":"push"'));
    const scheduled = afterHint
      .split('\n')
      .filter((l) => l.includes('"next_pass_in_ms"'))
      .map((l) => JSON.parse(l) as { next_pass_in_ms: number; pending_work: boolean });
    expect(scheduled.length).toBeGreaterThanOrEqual(7);
    for (const s of scheduled) {
      expect(s.pending_work).toBe(true);
      expect(s.next_pass_in_ms).toBeLessThanOrEqual(4_000);
    }
    const back = Date.now();
    await a.start();
    await waitFor('the deployment applied', async () => existsSync(agent.path('/etc/robot/outage.json')));
    const appliedAfterMs = Date.now() - back;
    expect(readFileSync(agent.path('/etc/robot/outage.json'), 'utf8')).toBe('{"mode": "outage"}');
    await waitFor(
      'reported deployed',
      async () => (await a.api('GET', `deployments/${created.id}`)).status === 'deployed',
    );
    // A figure, not an assertion on time (issue 19 target: applied ≤ 10 s after the server's return).
    console.log(`outage e2e: applied ${appliedAfterMs} ms after server A returned`);
  });
});
