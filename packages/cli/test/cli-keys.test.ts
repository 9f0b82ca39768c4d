import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CliDatabase,
  type CliServer,
  createCliDatabase,
  runCli,
  startCliServer,
} from './cli-process.ts';

// Every case spawns the real binary (tsx compiles on start), which is slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** `bosun keys ...` against the database of a server that is running meanwhile. */
let db: CliDatabase;
let server: CliServer;
const ADMIN = 'keys-suite-admin-key-0123456789';
beforeAll(async () => {
  db = await createCliDatabase();
  server = await startCliServer({ env: { ...db.env, BOSUN_BOOTSTRAP_API_KEY: ADMIN } });
});
afterAll(async () => {
  await server?.stop();
  await db?.destroy();
});

const keys = (args: string[], env: Record<string, string> = {}) =>
  runCli(['keys', ...args], { env: { ...db.env, ...env } });

async function listJson(): Promise<any[]> {
  const res = await keys(['list', '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

describe('bosun keys create', () => {
  let secret: string;
  let created: any;
  beforeAll(async () => {
    const res = await keys(['create', '--name', 'ci deploy', '--scopes', 'deployments:read,devices:manage']);
    expect(res.code, res.stderr).toBe(0);
    // stdout is exactly the secret and a newline, so `KEY=$(bosun keys create ...)` just works.
    expect(res.stdout).toMatch(/^bsn_[A-Za-z0-9]{32}\n$/);
    secret = res.stdout.trim();
    expect(res.stderr).toMatch(/created api_key_\S+ \(ci deploy\)/);
    expect(res.stderr).not.toContain(secret);
    created = (await listJson()).find((k) => k.name === 'ci deploy');
  });

  it('the key works at once against the running server, as itself', async () => {
    const me = await server.api('GET', 'principal', { key: secret });
    expect(me).toEqual({ status: 200, body: { object: 'principal', id: created.id, name: 'ci deploy' } });
  });

  it('has exactly the given scopes: manage grants its resource, nothing else is granted', async () => {
    expect(created.scopes).toEqual(['deployments:read', 'devices:manage']);
    expect((await server.api('POST', 'devices', { key: secret, body: { name: 'cli-made' } })).status).toBe(
      200,
    );
    expect((await server.api('GET', 'devices', { key: secret })).status).toBe(200);
    expect((await server.api('GET', 'config_types', { key: secret })).status).toBe(403);
    expect((await server.api('GET', 'git_commits', { key: secret })).status).toBe(403);
  });

  it('unknown scopes are refused (exit ≠ 0, nothing on stdout, no key created)', async () => {
    const before = await listJson();
    for (const scopes of ['devices:read,devices:fly', ' , ']) {
      const res = await keys(['create', '--name', 'bad', '--scopes', scopes]);
      expect(res.code, scopes).not.toBe(0);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(/unknown scope|no scopes/);
    }
    expect(await listJson()).toEqual(before);
  });

  it('missing --name or --scopes is a usage error', async () => {
    const noName = await keys(['create', '--scopes', 'devices:read']);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('--name');
    const noScopes = await keys(['create', '--name', 'x']);
    expect(noScopes.code).toBe(2);
    expect(noScopes.stderr).toContain('--scopes');
    const emptyName = await keys(['create', '--name', '  ', '--scopes', 'devices:read']);
    expect(emptyName.code).not.toBe(0);
    expect(emptyName.stderr).toContain('name must be 1 to 48 characters long');
    expect(noName.stdout + noScopes.stdout + emptyName.stdout).not.toMatch(/bsn_/);
  });

  it.skipIf(process.env.BOSUN_TEST_ENGINE === 'postgres')(
    '--data-dir on the command line selects the database',
    async () => {
      const res = await runCli([
        'keys',
        'create',
        '--name',
        'by flag',
        '--scopes',
        'releases:read',
        '--data-dir',
        db.dataDir,
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect((await server.api('GET', 'principal', { key: res.stdout.trim() })).body.name).toBe('by flag');
    },
  );
});

describe('bosun keys list', () => {
  it('shows ids, names and scopes, never a secret or a hash', async () => {
    const made = await keys(['create', '--name', 'listed', '--scopes', 'releases:write,git_commits:read']);
    const secret = made.stdout.trim();
    const table = await keys(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+SCOPES\s+CREATED\s+REVOKED$/);
    expect(table.stdout).toMatch(/api_key_\S+\s+listed\s+releases:write,git_commits:read/);
    const json = await keys(['list', '--json']);
    const all = JSON.parse(json.stdout);
    expect(all.find((k: any) => k.name === 'listed')).toMatchObject({
      scopes: ['releases:write', 'git_commits:read'],
    });
    for (const k of all)
      expect(Object.keys(k).sort()).toEqual([
        'created_at',
        'id',
        'last_used_at',
        'name',
        'revoked_at',
        'scopes',
      ]);
    const { createHash } = await import('node:crypto');
    for (const s of [secret, ADMIN]) {
      const hash = createHash('sha256').update(s).digest('hex');
      for (const out of [table.stdout, table.stderr, json.stdout, json.stderr]) {
        expect(out).not.toContain(s);
        expect(out).not.toContain(hash);
      }
    }
  });
});

describe('bosun keys revoke', () => {
  it('makes the key 401 at once on the running server, and shows it revoked', async () => {
    const made = await keys(['create', '--name', 'to revoke', '--scopes', 'devices:read']);
    const secret = made.stdout.trim();
    expect((await server.api('GET', 'devices', { key: secret })).status).toBe(200);
    const id = (await listJson()).find((k) => k.name === 'to revoke').id;
    const res = await keys(['revoke', id]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`revoked ${id}`);
    const after = await server.api('GET', 'devices', { key: secret });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('invalid_api_key');
    expect((await listJson()).find((k) => k.id === id).revoked_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    // The other keys are untouched.
    expect((await server.api('GET', 'principal', { key: ADMIN })).status).toBe(200);
  });

  it('an unknown or already revoked id → exit ≠ 0 with a clear error', async () => {
    const unknown = await keys(['revoke', 'api_key_doesnotexist']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no active API key with id api_key_doesnotexist');
    const made = await keys(['create', '--name', 'twice', '--scopes', 'devices:read']);
    expect(made.code).toBe(0);
    const id = (await listJson()).find((k) => k.name === 'twice').id;
    expect((await keys(['revoke', id])).code).toBe(0);
    expect((await keys(['revoke', id])).code).not.toBe(0);
  });
});
