import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDeviceSchema } from '../../../../test/support/device-spec.ts';
import { type ConfigChange, onConfigChange } from '../../src/local-api/client.ts';
import { EventLog } from '../../src/local-api/event-log.ts';
import { LocalApi } from '../../src/local-api/server.ts';
import type { DeviceApiSource, LocalDeployment } from '../../src/local-api/source.ts';

/**
 * The Device API server over a real Unix socket, with a source that holds its state in memory the
 * way the agent's local state does. (The agent end-to-end test covers it wired to a real agent.)
 */
const now = '2026-11-30T06:00:00.000Z';
const build = { version: 'v0.1.0', gitCommit: 'f'.repeat(40), buildDate: now };
const deployment = (id: string, activity: string): LocalDeployment => ({
  object: 'deployment',
  id,
  description: 'motion tuning',
  status: activity,
  activity_status: activity,
  error_status: 'none',
  target_status: activity === 'archived' ? 'archived' : 'deployed',
  device_id: 'dvc_1',
  release_id: 'rls_1',
  created_at: now,
});

let dir: string;
let socketPath: string;
let log: EventLog;
let api: LocalApi;
let syncs = 0;
const state: { current?: LocalDeployment } = { current: deployment('dpl_1', 'deployed') };

const source: DeviceApiSource = {
  device: async () => ({
    object: 'device',
    id: 'dvc_1',
    name: 'amr-017',
    status: 'online',
    last_synced_at: now,
    last_connected_at: now,
    last_disconnected_at: new Date(0).toISOString(),
  }),
  currentDeployment: async () => state.current,
  deployment: async (id) => (id === state.current?.id ? state.current : undefined),
  release: async (id) =>
    id === 'rls_1'
      ? { object: 'release', id, version: 'v1.2.0', git_commit_id: null, created_at: now }
      : undefined,
  gitCommit: async (id) =>
    id === 'git_cmt_1'
      ? {
          object: 'git_commit',
          id,
          sha: 'a'.repeat(40),
          message: 'tune',
          commit_url: 'https://github.com/a/b/commit/x',
          created_at: now,
        }
      : undefined,
  sync: async () => {
    syncs++;
    return {
      code: 'success',
      message: 'synced',
      last_synced_at: now,
      last_attempted_sync_at: now,
      in_cooldown: false,
      cooldown_ends_at: now,
    };
  },
};

function call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request({ socketPath, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens an SSE stream and collects frames until `until` says stop (or the server ends it). */
function collect(path: string, headers: Record<string, string> = {}) {
  const frames: string[] = [];
  let status = 0;
  let ended = false;
  const req = request({ socketPath, path, headers });
  const opened = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (c: string) => {
        buf += c;
        let at = buf.indexOf('\n\n');
        while (at >= 0) {
          frames.push(buf.slice(0, at));
          buf = buf.slice(at + 2);
          at = buf.indexOf('\n\n');
        }
      });
      res.on('end', () => {
        ended = true;
      });
      res.on('close', () => {
        ended = true;
      });
      resolve();
    });
    req.on('error', reject);
  });
  req.end();
  const ids = () => frames.filter((f) => f.startsWith('id:')).map((f) => Number(/^id: (\d+)/.exec(f)![1]));
  return { opened, frames, ids, status: () => status, ended: () => ended, close: () => req.destroy() };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bosun-device-api-'));
  socketPath = join(dir, 'run', 'bosun.sock');
  log = new EventLog(join(dir, 'events'), { retain: 20, compactTo: 16 });
  api = new LocalApi({ socketPath, source, events: log, build, heartbeatMs: 60_000 });
  await api.listen();
});
afterAll(async () => {
  await api?.close();
  log?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Device API endpoints over the Unix socket', () => {
  it('creates the socket with mode 0660', () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
  });
  it.each([
    ['/v0.2/health', 'HealthResponse'],
    ['/v0.2/version', 'VersionResponse'],
    ['/v0.2/device', 'Device'],
    ['/v0.2/deployments/current', 'Deployment'],
    ['/v0.2/deployments/dpl_1', 'Deployment'],
    ['/v0.2/releases/current', 'Release'],
    ['/v0.2/releases/rls_1', 'Release'],
    ['/v0.2/git_commits/git_cmt_1', 'GitCommit'],
  ])('GET %s matches %s', async (path, schema) => {
    const res = await call('GET', path);
    expect(res.status).toBe(200);
    expectDeviceSchema(schema, res.body);
  });
  it('POST /v0.2/device/sync runs a sync', async () => {
    const before = syncs;
    const res = await call('POST', '/v0.2/device/sync');
    expect(res.status).toBe(200);
    expectDeviceSchema('SyncDeviceResponse', res.body);
    expect(syncs).toBe(before + 1);
  });
  it('POST /v0.2/device/sync with an empty JSON body is the same as no body; malformed JSON is a 400', async () => {
    const json = { 'content-type': 'application/json' };
    for (const body of ['', '{}']) {
      const res = await call('POST', '/v0.2/device/sync', json, body);
      expect(res.status, `body '${body}'`).toBe(200);
      expectDeviceSchema('SyncDeviceResponse', res.body);
    }
    const bad = await call('POST', '/v0.2/device/sync', json, '{');
    expect(bad.status).toBe(400);
    expectDeviceSchema('ErrorResponse', bad.body);
  });
  it('GET /v0.2/version: the pinned API constants, the real build, arch as uname -m', async () => {
    const { body } = await call('GET', '/v0.2/version');
    // Single-value enums in v0.2.1 (APIVersion, APIGitCommit): a strict client accepts nothing else.
    expectDeviceSchema('APIVersion', body.api_version);
    expectDeviceSchema('APIGitCommit', body.api_git_commit);
    expect(body).toMatchObject({ version: 'v0.1.0', git_commit: build.gitCommit, build_date: now });
    expect(body.arch).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(body.rust_version).toBe('none');
  });
  it('the spec check keeps enums and constants: a value outside them is refused', () => {
    const ok = { ...deployment('dpl_1', 'deployed') };
    expectDeviceSchema('Deployment', ok);
    expect(() => expectDeviceSchema('Deployment', { ...ok, status: 'live' })).toThrow(/allowed values/);
    expect(() => expectDeviceSchema('Deployment', { ...ok, object: 'deploy' })).toThrow(/allowed values/);
    expect(() => expectDeviceSchema('APIVersion', 'v1-0')).toThrow(/allowed values/);
    expect(() => expectDeviceSchema('APIGitCommit', 'bosun')).toThrow(/allowed values/);
  });
  it.each([
    '/v0.2/deployments/dpl_nope',
    '/v0.2/releases/rls_nope',
    '/v0.2/git_commits/nope',
    '/v0.2/nothing',
  ])('%s → 404 resource_not_found in the envelope', async (path) => {
    const res = await call('GET', path);
    expect(res.status).toBe(404);
    expectDeviceSchema('ErrorResponse', res.body);
    expect(res.body.error.code).toBe('resource_not_found');
  });
  it('decodes a percent-encoded id; a malformed encoding is a 400, a wrong method or trailing slash a 404', async () => {
    expect((await call('GET', '/v0.2/deployments/dpl%5F1')).status).toBe(200);
    const bad = await call('GET', '/v0.2/deployments/%E0%A4%A');
    expect(bad.status).toBe(400);
    expectDeviceSchema('ErrorResponse', bad.body);
    for (const [method, path] of [
      ['DELETE', '/v0.2/device'],
      ['POST', '/v0.2/health'],
      ['GET', '/v0.2/device/'],
      ['GET', '/v0.2/deployments/'],
      ['GET', '/health'],
    ] as const) {
      const res = await call(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('resource_not_found');
    }
  });
  it('answers HEAD like GET without a body', async () => {
    const res = await call('HEAD', '/v0.2/device');
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
  });
  it('refuses a sync body that is not JSON (415) or larger than 1 MiB (413), in the envelope', async () => {
    const before = syncs;
    const text = await call('POST', '/v0.2/device/sync', { 'content-type': 'text/xml' }, '<sync/>');
    expect(text.status).toBe(415);
    expectDeviceSchema('ErrorResponse', text.body);
    const big = await call(
      'POST',
      '/v0.2/device/sync',
      { 'content-type': 'application/json' },
      ' '.repeat(1024 * 1024 + 1),
    );
    expect(big.status).toBe(413);
    expectDeviceSchema('ErrorResponse', big.body);
    expect(syncs).toBe(before);
  });
  it('current deployment and release are 404 when nothing is deployed', async () => {
    const saved = state.current;
    state.current = undefined;
    try {
      expect((await call('GET', '/v0.2/deployments/current')).status).toBe(404);
      expect((await call('GET', '/v0.2/releases/current')).status).toBe(404);
    } finally {
      state.current = saved;
    }
  });
});

describe('GET /v0.2/events', () => {
  it('sends a heartbeat on connect and delivers live events in the spec envelope', async () => {
    const s = collect('/v0.2/events');
    await s.opened;
    await until(() => s.frames.length >= 1);
    expect(s.frames[0]).toBe(': heartbeat');
    const e = log.append('deployment.deployed', {
      deployment_id: 'dpl_1',
      release_id: 'rls_1',
      status: 'deployed',
      activity_status: 'deployed',
      error_status: 'none',
      target_status: 'deployed',
      deployed_at: now,
    });
    await until(() => s.ids().includes(e.id));
    const frame = s.frames.find((f) => f.startsWith(`id: ${e.id}`))!;
    expect(frame).toContain('event: deployment.deployed');
    const envelope = JSON.parse(
      frame
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    );
    expectDeviceSchema('Event', envelope);
    expectDeviceSchema('DeploymentDeployedEvent', envelope.data);
    s.close();
  });

  it('replays exactly the missed events after a reconnect (after= or Last-Event-ID), then live, no duplicates', async () => {
    const first = log.append('deployment.deployed', { n: 1 });
    const missed = [log.append('deployment.removed', { n: 2 }), log.append('deployment.deployed', { n: 3 })];
    const s = collect('/v0.2/events', { 'last-event-id': String(first.id) });
    await s.opened;
    await until(() => s.ids().length >= 2);
    const live = log.append('deployment.removed', { n: 4 });
    await until(() => s.ids().includes(live.id));
    expect(s.ids()).toEqual([...missed.map((e) => e.id), live.id]);
    s.close();
    const q = collect(`/v0.2/events?after=${first.id}&types=deployment.removed`, { 'last-event-id': '0' });
    await q.opened;
    await until(() => q.ids().length >= 2);
    expect(q.ids()).toEqual([missed[0]!.id, live.id]);
    q.close();
  });

  it('after=0 replays everything retained', async () => {
    const s = collect('/v0.2/events?after=0');
    await s.opened;
    await until(() => s.ids().length >= log.since(0).length);
    expect(s.ids()).toEqual(log.since(0).map((e) => e.id));
    s.close();
  });

  it('an expired cursor is 410 cursor_expired; a non-integer is 400 malformed_cursor', async () => {
    for (let i = 0; i < 25; i++) log.append('deployment.deployed', { fill: i });
    const expired = await call('GET', '/v0.2/events?after=1');
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe('cursor_expired');
    const malformed = await call('GET', '/v0.2/events', { 'last-event-id': 'abc' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_cursor');
    expectDeviceSchema('ErrorResponse', malformed.body);
  });
});

describe('onConfigChange client', () => {
  it('delivers changes, and after a 410 resynchronises from the current deployment', async () => {
    const changes: ConfigChange[] = [];
    const watch = onConfigChange((c) => changes.push(c), { socketPath, after: 1, retryMs: 20 });
    await until(() => changes.some((c) => c.kind === 'resync'));
    expect(changes.find((c) => c.kind === 'resync')).toMatchObject({
      kind: 'resync',
      current: { id: 'dpl_1' },
    });
    const e = log.append('deployment.deployed', { deployment_id: 'dpl_9' });
    await until(() => changes.some((c) => c.kind === 'event' && c.event.id === e.id));
    expect(watch.lastEventId).toBe(e.id);
    watch.close();
  });
  it('frames CRLF streams per the SSE spec and skips a bad payload without throwing', async () => {
    // A hand-written stream (a proxy or another implementation may end lines with CRLF), split into
    // chunks that cut frames and line ends in half.
    const d = mkdtempSync(join(tmpdir(), 'bosun-sse-client-'));
    const sock = join(d, 'raw.sock');
    const event = (id: number) =>
      JSON.stringify({ object: 'event', id, type: 'deployment.deployed', occurred_at: now, data: { n: id } });
    const body =
      `: heartbeat\r\n\r\nid: 1\r\nevent: deployment.deployed\r\ndata: ${event(1)}\r\n\r\n` +
      'id: 2\r\ndata: {not json\r\n\r\n' +
      'data: {"object":"event","id":"three"}\r\n\r\n' +
      `id: 4\r\ndata: ${event(4)}\r\n\r\n`;
    const raw = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < body.length; i += 7) res.write(body.slice(i, i + 7));
    });
    await new Promise<void>((r) => raw.listen(sock, r));
    const changes: ConfigChange[] = [];
    const errors: Error[] = [];
    const watch = onConfigChange((c) => changes.push(c), {
      socketPath: sock,
      retryMs: 20,
      onError: (e) => errors.push(e),
    });
    await until(() => watch.lastEventId === 4);
    expect(changes.map((c) => (c.kind === 'event' ? c.event.id : c.kind))).toEqual([1, 4]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('not an event: {not json'),
      expect.stringContaining('not an event: {"object":"event","id":"three"}'),
    ]);
    watch.close();
    raw.closeAllConnections();
    await new Promise((r) => raw.close(r));
    rmSync(d, { recursive: true, force: true });
  });
});

describe('stream lifecycle', () => {
  it('disconnects a client that stops reading instead of buffering without bound', async () => {
    const slowDir = mkdtempSync(join(tmpdir(), 'bosun-slow-'));
    const slowLog = new EventLog(join(slowDir, 'events'));
    const slowApi = new LocalApi({
      socketPath: join(slowDir, 'slow.sock'),
      source,
      events: slowLog,
      build,
      maxBufferedBytes: 64 * 1024,
    });
    await slowApi.listen();
    // A raw socket that sends the request and then never reads: the kernel buffer fills up.
    const sock = connect({ path: join(slowDir, 'slow.sock') });
    sock.on('connect', () => {
      sock.write('GET /v0.2/events HTTP/1.1\r\nHost: localhost\r\n\r\n');
      sock.pause();
    });
    sock.on('error', () => {});
    await until(() => slowApi.openStreams === 1);
    const big = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 400 && slowApi.openStreams > 0; i++) {
      slowLog.append('deployment.deployed', { big });
      await new Promise((r) => setImmediate(r));
    }
    await until(() => slowApi.openStreams === 0);
    sock.destroy();
    // The agent itself carries on: appends still succeed and other clients are unaffected.
    expect(slowLog.append('deployment.removed', {}).id).toBeGreaterThan(0);
    await slowApi.close();
    slowLog.close();
    rmSync(slowDir, { recursive: true, force: true });
  });

  it('close() ends every open stream, so shutdown never waits on a connected client', async () => {
    const d = mkdtempSync(join(tmpdir(), 'bosun-close-'));
    const l = new EventLog(join(d, 'events'));
    const a = new LocalApi({ socketPath: join(d, 'c.sock'), source, events: l, build });
    await a.listen();
    const streams = [0, 1, 2].map(() => {
      const req = request({ socketPath: join(d, 'c.sock'), path: '/v0.2/events' });
      const state = { ended: false };
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          state.ended = true;
        });
      });
      req.end();
      return state;
    });
    await until(() => a.openStreams === 3);
    await a.close();
    await until(() => streams.every((s) => s.ended));
    l.close();
    rmSync(d, { recursive: true, force: true });
  });
});
