import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CliDatabase,
  type CliServer,
  createCliDatabase,
  repoRoot,
  runCli,
  startCliServer,
} from './cli-process.ts';

// Every case spawns the real binary (tsx compiles on start), which is slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** `bosun keys ...` talks to a running server through the SDK, like every other command. */
let db: CliDatabase;
let server: CliServer;
let asAdmin: Record<string, string>;
const ADMIN = 'keys-suite-admin-key-0123456789';
const temps: string[] = [];
beforeAll(async () => {
  db = await createCliDatabase();
  server = await startCliServer({ env: { ...db.env, BOSUN_BOOTSTRAP_API_KEY: ADMIN } });
  asAdmin = { BOSUN_SERVER: server.url, BOSUN_API_KEY: ADMIN };
});
afterAll(async () => {
  await server?.stop();
  await db?.destroy();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-keys-'));
  temps.push(dir);
  return dir;
};
const keys = (args: string[], env: Record<string, string> = asAdmin) => runCli(['keys', ...args], { env });

async function listJson(): Promise<any[]> {
  const res = await keys(['list', '--all', '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).data;
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
    expect((await server.api('GET', 'config_types', { key: secret })).status).toBe(403);
    expect((await server.api('GET', 'git_commits', { key: secret })).status).toBe(403);
  });

  it('unknown scopes are refused (usage error, nothing on stdout, no key created)', async () => {
    const ids = async () => (await listJson()).map((k) => k.id);
    const before = await ids();
    for (const scopes of ['devices:read,devices:fly', ' , ']) {
      const res = await keys(['create', '--name', 'bad', '--scopes', scopes]);
      expect(res.code, scopes).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(/unknown scope|no scopes/);
    }
    expect(await ids()).toEqual(before);
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

  it('a key cannot mint a key with more than it holds (the server refuses; exit 1)', async () => {
    const narrow = await keys(['create', '--name', 'key admin', '--scopes', 'api_keys:manage,devices:read']);
    const res = await keys(['create', '--name', 'escalate', '--scopes', 'devices:manage'], {
      BOSUN_SERVER: server.url,
      BOSUN_API_KEY: narrow.stdout.trim(),
    });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('scope_not_held');
  });
});

describe('bosun keys list / get / rename', () => {
  it('shows ids, names and scopes, never a secret or a hash', async () => {
    const made = await keys(['create', '--name', 'listed', '--scopes', 'releases:write,git_commits:read']);
    const secret = made.stdout.trim();
    const table = await keys(['list', '--all']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+SCOPES\s+CREATED\s+LAST USED\s+REVOKED$/);
    expect(table.stdout).toMatch(/api_key_\S+\s+listed\s+releases:write,git_commits:read/);
    const json = await keys(['list', '--all', '--json']);
    const all = JSON.parse(json.stdout).data;
    expect(all.find((k: any) => k.name === 'listed')).toMatchObject({
      object: 'api_key',
      scopes: ['releases:write', 'git_commits:read'],
    });
    for (const s of [secret, ADMIN]) {
      const hash = createHash('sha256').update(s).digest('hex');
      for (const out of [table.stdout, table.stderr, json.stdout, json.stderr]) {
        expect(out).not.toContain(s);
        expect(out).not.toContain(hash);
      }
    }
  });

  it('get shows one key; rename changes its name and nothing else', async () => {
    await keys(['create', '--name', 'before', '--scopes', 'devices:read']);
    const id = (await listJson()).find((k) => k.name === 'before').id;
    const got = await keys(['get', id, '--json']);
    expect(JSON.parse(got.stdout)).toMatchObject({ id, name: 'before', scopes: ['devices:read'] });
    const renamed = await keys(['rename', id, 'after', '--json']);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(JSON.parse(renamed.stdout)).toMatchObject({ id, name: 'after', scopes: ['devices:read'] });
    const missing = await keys(['get', 'api_key_missing']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('HTTP 404');
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
    expect((await server.api('GET', 'principal', { key: ADMIN })).status).toBe(200);
  });

  it('an unknown or already revoked id → exit 1 with a clear error', async () => {
    const unknown = await keys(['revoke', 'api_key_doesnotexist']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('HTTP 404');
    const made = await keys(['create', '--name', 'twice', '--scopes', 'devices:read']);
    expect(made.code).toBe(0);
    const id = (await listJson()).find((k) => k.name === 'twice').id;
    expect((await keys(['revoke', id])).code).toBe(0);
    const again = await keys(['revoke', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('api_key_revoked');
  });
});

describe('without a server', () => {
  it('`bosun keys list` with no server configured fails clearly and creates no ./.bosun database', async () => {
    const cwd = tempDir();
    const res = await runCli(['keys', 'list'], {
      cwd,
      env: { HOME: cwd, XDG_CONFIG_HOME: join(cwd, 'cfg') },
    });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/Not logged in and no API key: run `bosun login --server URL`/);
    expect(existsSync(join(cwd, '.bosun'))).toBe(false);
  });

  it.skipIf(process.env.BOSUN_TEST_ENGINE === 'postgres')(
    'recovery: `keys create --data-dir DIR` writes into that database; the running server accepts the key',
    async () => {
      const res = await runCli([
        'keys',
        'create',
        '--name',
        'recovered',
        '--scopes',
        'api_keys:manage,releases:read',
        '--data-dir',
        db.dataDir,
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect((await server.api('GET', 'principal', { key: res.stdout.trim() })).body.name).toBe('recovered');
    },
  );

  it('recovery refuses a directory with no database, and creates none', async () => {
    const empty = tempDir();
    const res = await runCli([
      'keys',
      'create',
      '--name',
      'x',
      '--scopes',
      'devices:read',
      '--data-dir',
      empty,
    ]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`no Bosun database in ${empty}`);
    expect(existsSync(join(empty, 'bosun.db'))).toBe(false);
    const missing = join(empty, 'nope');
    const res2 = await runCli([
      'keys',
      'create',
      '--name',
      'x',
      '--scopes',
      'devices:read',
      '--data-dir',
      missing,
    ]);
    expect(res2.code).toBe(1);
    expect(existsSync(missing)).toBe(false);
  });

  it('the offline path loads the server through its public entry point only', () => {
    const source = readFileSync(join(repoRoot, 'packages', 'cli', 'src', 'commands', 'keys.ts'), 'utf8');
    expect(source).not.toMatch(/@bosun\/server\//);
    expect(source).not.toMatch(/^import[^\n]*'@bosun\/server'/m);
    expect(source).toContain("await import('@bosun/server')");
  });
});
