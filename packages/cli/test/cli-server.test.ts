import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServerConfig } from '@bosun/server';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  bannerKey,
  type CliDatabase,
  type CliServer,
  createCliDatabase,
  repoRoot,
  runCli,
  startCliServer,
} from './cli-process.ts';

// Every case spawns the real binary (the compiled dist/ through bin/bosun.mjs), which is slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDb(): Promise<CliDatabase> {
  const db = await createCliDatabase();
  cleanups.push(() => db.destroy());
  return db;
}
async function serve(
  db: CliDatabase,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<CliServer> {
  const s = await startCliServer({ env: { ...db.env, ...env }, args });
  cleanups.push(() => s.stop());
  return s;
}

describe('bosun server: first start', () => {
  it('prints a bsn_ admin key once, with a curl line, and the key holds every scope', async () => {
    const db = await freshDb();
    const s = await serve(db);
    await s.waitFor(/Try it:[\s\S]*curl[^\n]*\n/);
    const key = bannerKey(s.stdout());
    expect(key).toMatch(/^bsn_[A-Za-z0-9]{32}$/);
    const curl = s
      .stdout()
      .split('\n')
      .find((l) => l.includes('curl'))!;
    expect(curl).toContain(`X-API-Key: ${key}`);
    expect(curl).toContain('Miru-Version: 2026-03-09.tetons');
    expect(curl).toContain(`${s.url}/beta/principal`);
    const me = await s.api('GET', 'principal', { key });
    expect(me).toMatchObject({ status: 200, body: { object: 'principal', name: 'admin' } });
    // Every scope: each resource's endpoints answer.
    for (const path of ['config_types', 'devices', 'git_commits']) {
      expect((await s.api('GET', path, { key })).status).toBe(200);
    }
    expect((await s.api('POST', 'devices', { key, body: { name: 'first' } })).status).toBe(200);
    const asAdmin = { BOSUN_SERVER: s.url, BOSUN_API_KEY: key! };
    const list = await runCli(['keys', 'list', '--json'], { env: asAdmin });
    expect(list.code, list.stderr).toBe(0);
    const admin = JSON.parse(list.stdout).data.find((k: { name: string }) => k.name === 'admin');
    expect(admin.scopes).toEqual([
      'api_keys:manage',
      'config_instances:manage',
      'config_schemas:manage',
      'config_types:manage',
      'deployments:manage',
      'devices:manage',
      'git_commits:manage',
      'groups:manage',
      'releases:manage',
      'rollouts:manage',
      'webhooks:manage',
    ]);

    // The banner's "more keys" line works exactly as printed, from a shell in a clone.
    const more = s
      .stdout()
      .split('\n')
      .find((l) => l.includes('keys create'))!
      .trim();
    expect(more).toContain(`BOSUN_SERVER=${s.url}`);
    const made = await runCli([], { command: ['sh', '-c', more] });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^bsn_[A-Za-z0-9]{32}\n$/);
    expect((await s.api('GET', 'principal', { key: made.stdout.trim() })).body.name).toBe('ci');

    // A second start over the same database prints no new key.
    await s.stop();
    const again = await serve(db);
    expect((await again.api('GET', 'principal', { key })).status).toBe(200);
    expect(bannerKey(again.stdout())).toBeUndefined();
    expect(again.stdout()).not.toContain('Bosun created an admin API key');
    const relisted = await runCli(['keys', 'list', '--json'], {
      env: { ...asAdmin, BOSUN_SERVER: again.url },
    });
    expect(
      JSON.parse(relisted.stdout)
        .data.map((k: { name: string }) => k.name)
        .sort(),
    ).toEqual(['admin', 'ci']);
  });

  it('listens on 127.0.0.1 unless --host is given; GET /healthz needs no key or version', async () => {
    const db = await freshDb();
    const s = await serve(db);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${s.url}/beta/openapi.json`)).status).toBe(200);
    expect((await fetch(`${s.url}/docs/`)).status).toBe(200);
  });

  it.skipIf(process.env.BOSUN_TEST_ENGINE === 'postgres')(
    'without --data-dir or BOSUN_DATA_DIR the SQLite file goes to ./.bosun of the working directory',
    async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'bosun-cwd-'));
      cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
      const s = await startCliServer({ cwd });
      cleanups.push(() => s.stop());
      expect(existsSync(join(cwd, '.bosun', 'bosun.db'))).toBe(true);
      expect(s.logs().find((l) => l.msg === 'bosun server listening').location).toBe(
        join(cwd, '.bosun', 'bosun.db'),
      );
    },
  );
});

describe('bosun server: BOSUN_BOOTSTRAP_API_KEY', () => {
  it('creates exactly that admin key, prints no generated key, and is ignored once a key exists', async () => {
    const db = await freshDb();
    const provided = 'automation-key-0123456789-abcdef';
    const s = await serve(db, { BOSUN_BOOTSTRAP_API_KEY: provided });
    expect((await s.api('GET', 'principal', { key: provided })).body).toMatchObject({
      name: 'bootstrap admin',
    });
    expect((await s.api('GET', 'devices', { key: provided })).status).toBe(200);
    expect(bannerKey(s.stdout())).toBeUndefined();
    expect(s.stdout()).not.toContain(provided);
    await s.stop();

    const other = 'another-automation-key-9876543210';
    const again = await serve(db, { BOSUN_BOOTSTRAP_API_KEY: other });
    expect((await again.api('GET', 'principal', { key: other })).status).toBe(401);
    expect((await again.api('GET', 'principal', { key: provided })).status).toBe(200);
    const keys = JSON.parse(
      (
        await runCli(['keys', 'list', '--json'], {
          env: { BOSUN_SERVER: again.url, BOSUN_API_KEY: provided },
        })
      ).stdout,
    );
    expect(keys.data).toHaveLength(1);
  });

  it('a key shorter than 20 characters is refused with a clear error and nothing listens', async () => {
    const db = await freshDb();
    const res = await runCli(['server', '--port', '0'], {
      env: { ...db.env, BOSUN_BOOTSTRAP_API_KEY: 'too-short-key' },
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/BOSUN_BOOTSTRAP_API_KEY must be at least 20 characters/);
    expect(res.stdout).not.toContain('bosun server listening');
    expect(res.stdout + res.stderr).not.toContain('too-short-key');
    // Nothing was created: a later normal start is still a first start.
    const s = await serve(db);
    await s.waitFor(/Try it:/);
    expect(bannerKey(s.stdout())).toMatch(/^bsn_/);
  });
});

describe('bosun server: logs', () => {
  it('one JSON line per request with reqId, method, route, status, duration_ms; never a key, header value or query', async () => {
    const db = await freshDb();
    const s = await serve(db);
    await s.waitFor(/Try it:[\s\S]*curl[^\n]*\n/);
    const admin = bannerKey(s.stdout())!;
    const bannerEnd = s.stdout().length;
    // The offline recovery path: no request reaches the server, so the log count below stays exact.
    const created = await runCli(
      ['keys', 'create', '--name', 'logger', '--scopes', 'devices:manage', '--data-dir', db.dataDir],
      { env: db.env },
    );
    const key = created.stdout.trim();
    const wrong = 'bsn_WrongKeyThatMustNotBeLogged0000';
    const device = await s.api('POST', 'devices', { key, body: { name: 'log-me' } });
    expect(device.status).toBe(200);
    expect((await s.api('GET', `devices/${device.body.id}`, { key: admin })).status).toBe(200);
    expect((await s.api('GET', 'devices?name=QuerySecretValue123', { key })).status).toBe(200);
    expect((await s.api('GET', 'devices', { key: wrong })).status).toBe(401);
    expect((await s.api('GET', 'config_types', { key })).status).toBe(403);
    await s.waitFor(/"status":403/);

    const lines = s.logs().filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(5);
    for (const l of lines) {
      expect(l.reqId).toMatch(/^req_/);
      expect(typeof l.method).toBe('string');
      expect(typeof l.route).toBe('string');
      expect(typeof l.status).toBe('number');
      expect(typeof l.duration_ms).toBe('number');
    }
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(5);
    expect(lines.map((l) => [l.method, l.route, l.status])).toEqual([
      ['POST', '/beta/devices', 200],
      ['GET', '/beta/devices/:device_id', 200],
      ['GET', '/beta/devices', 200],
      ['GET', '/beta/devices', 401],
      ['GET', '/beta/config_types', 403],
    ]);
    await s.stop();
    const after = s.stdout().slice(bannerEnd) + s.stderr();
    for (const secret of [admin, key, wrong, 'QuerySecretValue123', 'x-api-key', 'X-API-Key']) {
      expect(after, secret).not.toContain(secret);
    }
  });
});

describe('bosun server: SIGTERM', () => {
  it('stops accepting, lets the in-flight request finish, exits 0 and closes the database cleanly', async () => {
    const db = await freshDb();
    const provided = 'sigterm-admin-key-0123456789';
    const s = await serve(db, { BOSUN_BOOTSTRAP_API_KEY: provided });
    const { port } = new URL(s.url);
    const body = JSON.stringify({ name: 'in-flight' });
    // A request whose body arrives in two parts: in flight from the first byte until the last.
    const inFlight = new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/beta/devices',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'miru-version': '2026-03-09.tetons',
            'x-api-key': provided,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 5));
      (s as any).finish = () => req.end(body.slice(5));
    });
    // A full round trip on another connection, so the server has surely read the first request's head.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

    s.child.kill('SIGTERM');
    await s.waitFor(/shutting down: draining requests/);
    // No new requests once draining has begun.
    const refused = await fetch(`${s.url}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(refused);

    (s as any).finish();
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ object: 'device', name: 'in-flight' });
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('shut down cleanly');

    if (db.engine === 'sqlite') {
      const file = join(db.dataDir, 'bosun.db');
      // A clean close checkpoints the WAL into the main file and removes it.
      const wal = `${file}-wal`;
      expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
      const sqlite = new Database(file, { readonly: true });
      try {
        expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(sqlite.prepare('select name from devices').all()).toEqual([{ name: 'in-flight' }]);
      } finally {
        sqlite.close();
      }
    } else {
      const opened = await runCli(
        ['keys', 'create', '--name', 'after-stop', '--scopes', 'devices:read', '--data-dir', db.dataDir],
        { env: db.env },
      );
      expect(opened.code, opened.stderr).toBe(0);
    }
  });
});

describe('how it starts', () => {
  it('npm start runs exactly `bosun server` with the defaults', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('node packages/cli/bin/bosun.mjs server');
    expect(pkg.bin.bosun).toBe('packages/cli/bin/bosun.mjs');
  });
  it('flags win over environment variables, which win over the defaults', () => {
    const defaults = resolveServerConfig({}, {});
    expect(defaults).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: join(process.cwd(), '.bosun') });
    const env = { BOSUN_PORT: '9000', BOSUN_DATA_DIR: '/tmp/env-dir', BOSUN_HOST: '0.0.0.0' };
    expect(resolveServerConfig({}, env)).toMatchObject({
      port: 9000,
      dataDir: '/tmp/env-dir',
      host: '0.0.0.0',
    });
    expect(resolveServerConfig({ port: '7000', dataDir: '/tmp/flag-dir', host: '::1' }, env)).toMatchObject({
      port: 7000,
      dataDir: '/tmp/flag-dir',
      host: '::1',
    });
    expect(() => resolveServerConfig({ port: 'eighty' }, {})).toThrow(/port/);
    expect(() => resolveServerConfig({ port: '70000' }, {})).toThrow(/port/);
  });
  it('an unusable port is a clear error and a non-zero exit', async () => {
    const db = await freshDb();
    const res = await runCli(['server', '--port', 'eighty'], { env: db.env });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("port must be an integer between 0 and 65535, got 'eighty'");
  });
  it('a port in use is a clear error, and the first-start key is not lost with it', async () => {
    const db = await freshDb();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const port = String((blocker.address() as AddressInfo).port);
    const res = await runCli(['server', '--port', port, '--host', '127.0.0.1'], { env: db.env });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('EADDRINUSE');
    expect(bannerKey(res.stdout)).toBeUndefined();
    // No key was kept that nobody saw: the next start is still a first start and shows one.
    const s = await serve(db);
    await s.waitFor(/Try it:/);
    expect(bannerKey(s.stdout())).toMatch(/^bsn_/);
  });
  it('npx bosun works from the repository root', async () => {
    const res = await runCli(['--version'], { command: ['npx', '--no-install', 'bosun'] });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toMatch(/^v?\d+\.\d+\.\d+/);
  });
});
