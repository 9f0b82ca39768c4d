import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstance, createRelease } from '../../../test/support/deployments.ts';
import { API_VERSION, startTestServer, type TestServer } from '../../../test/support/server.ts';
import { buildApp } from '../src/app.ts';

/** Dashboard sign-in: `/ui/session` exchanges a key for a cookie; the API honours it like the key. */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Session {
  cookie: string;
  csrf: string;
  setCookies: string[];
  status: number;
  body: any;
}

async function signIn(apiKey: string): Promise<Session> {
  const res = await fetch(`${t.url}/ui/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: apiKey }),
  });
  const setCookies = res.headers.getSetCookie();
  const value = (name: string) =>
    setCookies
      .find((c) => c.startsWith(`${name}=`))
      ?.split(';')[0]
      ?.slice(name.length + 1) ?? '';
  const session = value('bosun_session');
  const csrf = value('bosun_csrf');
  return {
    cookie: `bosun_session=${session}; bosun_csrf=${csrf}`,
    csrf,
    setCookies,
    status: res.status,
    body: await res.json(),
  };
}

/** A platform API call made as the browser does: cookie, version header, optional CSRF header. */
async function withCookie(
  s: Session,
  method: string,
  path: string,
  opts: { body?: unknown; csrf?: string } = {},
) {
  const headers: Record<string, string> = { cookie: s.cookie, 'miru-version': API_VERSION };
  if (opts.csrf !== undefined) headers['x-csrf-token'] = opts.csrf;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${path.startsWith('/') ? path : `/beta/${path}`}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('POST /ui/session', () => {
  it('sets an httpOnly SameSite=Strict session cookie (not Secure over plain HTTP) and a readable CSRF cookie', async () => {
    const s = await signIn(t.adminKey);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ object: 'ui_session', principal: { name: expect.any(String) } });
    expect(s.body.principal.scopes).toContain('deployments:manage');
    const session = s.setCookies.find((c) => c.startsWith('bosun_session='))!;
    const csrf = s.setCookies.find((c) => c.startsWith('bosun_csrf='))!;
    expect(session).toMatch(/; HttpOnly/i);
    expect(session).toMatch(/; SameSite=Strict/i);
    expect(session).not.toMatch(/; Secure/i);
    expect(csrf).toMatch(/; SameSite=Strict/i);
    expect(csrf).not.toMatch(/HttpOnly/i);
    // The key itself is never echoed, and only hashes are stored.
    expect(JSON.stringify(s.body)).not.toContain(t.adminKey);
    const rows = await t.server.store.db.selectFrom('ui_sessions').selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(s.cookie.split(';')[0]!.slice('bosun_session='.length));
    expect(stored).not.toContain(s.csrf);
  });

  it('refuses an unknown key (401) and a malformed body (400), setting no cookie', async () => {
    const before = await t.server.store.db.selectFrom('ui_sessions').selectAll().execute();
    const bad = await signIn('bsn_not_a_key');
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_api_key');
    expect(bad.setCookies).toEqual([]);
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'x' }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBeDefined();
    const after = await t.server.store.db.selectFrom('ui_sessions').selectAll().execute();
    expect(after.length).toBe(before.length);
  });
});

describe('the session on the platform API', () => {
  it('reads with the cookie alone; without cookie or key it is 401', async () => {
    const s = await signIn(t.adminKey);
    expect((await withCookie(s, 'GET', 'devices')).status).toBe(200);
    const me = await withCookie(s, 'GET', '/ui/session');
    expect(me.status).toBe(200);
    expect(me.body.principal.id).toBe(s.body.principal.id);
    const none = await t.api('GET', 'devices', { key: null });
    expect(none.status).toBe(401);
  });

  it('a state-changing request without the CSRF token is 403 and changes nothing; with it, it runs', async () => {
    const s = await signIn(t.adminKey);
    const name = `csrf-${Date.now()}`;
    const refused = await withCookie(s, 'POST', 'devices', { body: { name } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('csrf_token_invalid');
    const wrong = await withCookie(s, 'POST', 'devices', { body: { name }, csrf: 'wrong' });
    expect(wrong.status).toBe(403);
    const list = await t.api('GET', `devices?name=${name}`);
    expect(list.body.data).toEqual([]);
    const made = await withCookie(s, 'POST', 'devices', { body: { name }, csrf: s.csrf });
    expect(made.status).toBe(200);
    expect(made.body.name).toBe(name);
  });

  it('carries exactly the key scopes: a read-only session cannot write, the API refuses it', async () => {
    const reader = await t.keyWith('devices:read', 'deployments:read');
    const s = await signIn(reader);
    expect(s.body.principal.scopes).toEqual(['devices:read', 'deployments:read']);
    expect((await withCookie(s, 'GET', 'devices')).status).toBe(200);
    expect((await withCookie(s, 'GET', 'config_types')).status).toBe(403);
    const write = await withCookie(s, 'POST', 'devices', { body: { name: 'nope' }, csrf: s.csrf });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('missing_scope');
  });

  it('revoking the key ends its sessions', async () => {
    const secret = await t.keyWith('devices:read');
    const s = await signIn(secret);
    expect((await withCookie(s, 'GET', 'devices')).status).toBe(200);
    await t.api('POST', `api_keys/${s.body.principal.id}/revoke`);
    const after = await withCookie(s, 'GET', 'devices');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('session_expired');
  });

  it('an idle session ends, and so does one past its absolute age however active', async () => {
    const db = t.server.store.db;
    const idle = await signIn(t.adminKey);
    const old = await signIn(t.adminKey);
    const hours = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const byPrincipalNewest = async () =>
      db
        .selectFrom('ui_sessions')
        .select(['token_hash', 'created_at'])
        .orderBy('created_at', 'desc')
        .limit(2)
        .execute();
    const [oldRow, idleRow] = await byPrincipalNewest();
    await db
      .updateTable('ui_sessions')
      .set({ last_seen_at: hours(1) })
      .where('token_hash', '=', idleRow!.token_hash)
      .execute();
    await db
      .updateTable('ui_sessions')
      .set({ created_at: hours(13), last_seen_at: new Date().toISOString() })
      .where('token_hash', '=', oldRow!.token_hash)
      .execute();
    for (const s of [idle, old]) {
      const res = await withCookie(s, 'GET', 'devices');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('session_expired');
    }
    const left = await db
      .selectFrom('ui_sessions')
      .select('token_hash')
      .where('token_hash', 'in', [oldRow!.token_hash, idleRow!.token_hash])
      .execute();
    expect(left).toEqual([]);
  });

  it('a sign-in drops sessions past their absolute age', async () => {
    const db = t.server.store.db;
    await signIn(t.adminKey);
    const [row] = await db
      .selectFrom('ui_sessions')
      .select('token_hash')
      .orderBy('created_at', 'desc')
      .limit(1)
      .execute();
    await db
      .updateTable('ui_sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('token_hash', '=', row!.token_hash)
      .execute();
    await signIn(t.adminKey);
    const left = await db
      .selectFrom('ui_sessions')
      .select('token_hash')
      .where('token_hash', '=', row!.token_hash)
      .execute();
    expect(left).toEqual([]);
  });

  it('sign-out needs the CSRF token, then the cookie no longer works', async () => {
    const s = await signIn(t.adminKey);
    expect((await withCookie(s, 'DELETE', '/ui/session')).status).toBe(403);
    expect((await withCookie(s, 'GET', 'devices')).status).toBe(200);
    const out = await fetch(`${t.url}/ui/session`, {
      method: 'DELETE',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join('\n')).toMatch(/bosun_session=;/);
    expect((await withCookie(s, 'GET', 'devices')).status).toBe(401);
    expect((await withCookie(s, 'GET', '/ui/session')).status).toBe(401);
  });
});

/** Reads SSE frames from a streaming response until `until` says enough. */
async function readEvents(
  res: Response,
  until: (events: { id?: string; event: string; data: any }[]) => boolean,
) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { id?: string; event: string; data: any }[] = [];
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(
        frame
          .split('\n')
          .filter((l) => !l.startsWith(':') && l.includes(': '))
          .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
      );
      if (fields.event)
        events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data ?? 'null') });
      cut = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

describe('GET /beta/events/stream', () => {
  it('streams deployment status changes as they are recorded, resumable with Last-Event-ID', async () => {
    const device = await t.api('POST', 'devices', { body: { name: `sse-${Date.now()}` } });
    const release = await createRelease(t);
    const instance = await createInstance(t, release);
    const controller = new AbortController();
    const res = await fetch(`${t.url}/beta/events/stream`, {
      headers: { 'x-api-key': t.adminKey, 'miru-version': API_VERSION },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const created = await t.api('POST', 'deployments', {
      body: {
        description: 'sse',
        device_id: device.body.id,
        release_id: release.releaseId,
        target_status: 'staged',
        config_instance_ids: [instance.id],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const events = await readEvents(res, (e) => e.some((x) => x.data.deployment_id === created.body.id));
    controller.abort();
    const mine = events.find((x) => x.data.deployment_id === created.body.id)!;
    expect(mine.event).toBe('deployment.status_changed');
    expect(mine.data).toMatchObject({
      object: 'event',
      device_id: device.body.id,
      to: { target_status: 'staged' },
    });
    expect(mine.id).toBeTruthy();

    // Resume from before it: the same event is replayed first.
    const archived = await t.api('POST', `deployments/${created.body.id}/archive`);
    expect(archived.status).toBe(200);
    const again = await fetch(`${t.url}/beta/events/stream`, {
      headers: { 'x-api-key': t.adminKey, 'miru-version': API_VERSION, 'last-event-id': mine.id! },
    });
    const replay = await readEvents(again, (e) => e.some((x) => x.data.to?.target_status === 'archived'));
    const next = replay.find((x) => x.data.deployment_id === created.body.id)!;
    expect(next.data.to.target_status).toBe('archived');
  });

  it('refuses a foreign Last-Event-ID (400), a key without read scopes (403) and no key (401)', async () => {
    const bad = await t.api('GET', 'events/stream', { headers: { 'last-event-id': 'garbage' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_cursor');
    const weak = await t.keyWith('releases:read');
    expect((await t.api('GET', 'events/stream', { key: weak })).status).toBe(403);
    expect((await t.api('GET', 'events/stream', { key: null })).status).toBe(401);
  });

  it('is documented as an extension in the OpenAPI document', async () => {
    const doc = (await t.api('GET', 'openapi.json')).body;
    const op = doc.paths['/events/stream'].get;
    expect(op['x-bosun-extension']).toBe(true);
    expect(op.operationId).toBe('streamEvents');
  });
});

describe('the dashboard files', () => {
  it('serves the built page at / with a restrictive CSP; without a build / stays a 404 envelope', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bosun-web-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Bosun</title>');
    const withWeb = await buildApp({ store: t.server.store, ui: { webDir: dir } });
    const page = await withWeb.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>Bosun</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await withWeb.inject({ method: 'GET', url: '/beta/nope' })).json().error.code).toBe(
      'route_not_found',
    );
    await withWeb.close();
    const without = await buildApp({ store: t.server.store, ui: { webDir: join(dir, 'absent') } });
    const missing = await without.inject({ method: 'GET', url: '/' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('route_not_found');
    await without.close();
  });
});
