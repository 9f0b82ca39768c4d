import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookReceiver } from '../../../test/support/webhook-receiver.ts';
import {
  type CliDatabase,
  type CliServer,
  createCliDatabase,
  runCli,
  startCliServer,
} from './cli-process.ts';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** `bosun webhooks …` against a running server and a real loopback receiver. */
let db: CliDatabase;
let server: CliServer;
let rx: WebhookReceiver;
let env: Record<string, string>;
const ADMIN = 'webhooks-suite-admin-key-0123456789';
beforeAll(async () => {
  db = await createCliDatabase();
  server = await startCliServer({
    env: {
      ...db.env,
      BOSUN_BOOTSTRAP_API_KEY: ADMIN,
      BOSUN_WEBHOOKS_ALLOW_PRIVATE: '1',
      BOSUN_WEBHOOKS_POLL_MS: '50',
    },
  });
  env = { BOSUN_SERVER: server.url, BOSUN_API_KEY: ADMIN };
  rx = await new WebhookReceiver().start();
});
afterAll(async () => {
  await server?.stop();
  await db?.destroy();
  await rx?.close();
});

const hooks = (args: string[]) => runCli(['webhooks', ...args], { env });

describe('bosun webhooks', () => {
  it('create prints the secret alone; test delivers a signed event; deliveries shows it; delete removes it', async () => {
    const created = await hooks([
      'create',
      '--url',
      rx.url,
      '--events',
      'webhook.test,device.*',
      '--description',
      'ops',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^whsec_\S+\n$/);
    const secret = created.stdout.trim();
    const id = /created (ep_\S+)/.exec(created.stderr)![1]!;

    const listed = await hooks(['list', '--json']);
    expect(listed.stdout).not.toContain(secret.slice(6));
    expect(JSON.parse(listed.stdout).data[0]).toMatchObject({
      id,
      event_types: ['webhook.test', 'device.*'],
    });

    const test = await hooks(['test', id]);
    expect(test.code, test.stderr).toBe(0);
    await rx.until((all) => all.length === 1, 'test event');
    const r = rx.received[0]!;
    expect(new Webhook(secret).verify(r.body, r.headers)).toMatchObject({ type: 'webhook.test' });

    for (let i = 0; ; i++) {
      const log = await hooks(['deliveries', id, '--json']);
      const d = JSON.parse(log.stdout).data[0];
      if (d?.status === 'delivered') {
        expect(d.event_id).toBe(r.id);
        break;
      }
      if (i > 100) throw new Error(`not delivered: ${log.stdout}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const table = await hooks(['deliveries', id]);
    expect(table.stdout).toMatch(/webhook\.test .* delivered/);

    const disabled = await hooks(['update', id, '--disable', '--json']);
    expect(JSON.parse(disabled.stdout).enabled).toBe(false);
    const rotated = await hooks(['rotate-secret', id]);
    expect(rotated.stdout).toMatch(/^whsec_/);
    expect(rotated.stdout.trim()).not.toBe(secret);
    expect((await hooks(['delete', id])).code).toBe(0);
    expect((await hooks(['get', id])).code).not.toBe(0);
  });

  it('validation: usage errors exit 2; an unknown release is the API 404', async () => {
    expect((await hooks(['validation', 'rls_x', '--fail-open'])).code).toBe(2);
    expect((await hooks(['validation', 'rls_x', '--on', '--off'])).code).toBe(2);
    const missing = await hooks(['validation', 'rls_nope', '--on']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/rls_nope/);
    const bad = await hooks(['create', '--url', rx.url, '--events', 'robot.exploded']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown_event_type|Unknown event type/);
  });
});
