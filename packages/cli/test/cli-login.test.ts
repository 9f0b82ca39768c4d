import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliWorld, runCliWithStdin, startCliWorld } from './cli-api-support.ts';

let w: CliWorld;
beforeAll(async () => {
  w = await startCliWorld({ login: false });
}, 300_000);
afterAll(async () => {
  await w?.close();
});

const credentials = () => join(w.configHome, 'bosun', 'credentials.json');

describe('bosun login and credentials', { timeout: 300_000 }, () => {
  it('without a login or key, commands explain how to log in (exit 1)', async () => {
    const res = await w.bosun(['devices', 'list']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Not logged in');
    expect(res.stderr).toContain('BOSUN_API_KEY');
  });

  it('checks the key before storing it: a wrong key exits 1 with the envelope and writes nothing', async () => {
    const res = await w.bosun(['login', '--server', w.t.url, '--api-key', 'bsn_not_a_real_key_at_all']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/error: .*\(invalid_api_key, HTTP 401\)/);
    expect(existsSync(credentials())).toBe(false);
  });

  it('refuses a server that is not a URL as a usage error (exit 2)', async () => {
    const res = await w.bosun(['login', '--server', 'not a url', '--api-key', 'x']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('is not a URL');
  });

  it('stores server and key with mode 0600 after GET /principal, read from stdin', async () => {
    const res = await runCliWithStdin(['login', '--server', `${w.t.url}/`], `${w.t.adminKey}\n`, {
      XDG_CONFIG_HOME: w.configHome,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^✓ Logged in to http:\/\/127\.0\.0\.1:\d+ as .+ \(api_key_\w+\)\n$/);
    expect(statSync(credentials()).mode & 0o777).toBe(0o600);
    expect(statSync(join(w.configHome, 'bosun')).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(credentials(), 'utf8'));
    expect(stored).toMatchObject({ server: w.t.url, api_key: w.t.adminKey });

    const list = await w.bosun(['devices', 'list']);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe('');
  });

  it('BOSUN_API_KEY and BOSUN_SERVER win over the stored login, with a notice', async () => {
    const bad = await w.bosun(['devices', 'list'], { env: { BOSUN_API_KEY: 'bsn_env_key_that_is_wrong' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Using the API key from BOSUN_API_KEY.');
    expect(bad.stderr).toContain('invalid_api_key');

    const reader = await w.t.keyWith('devices:read');
    const good = await w.bosun(['devices', 'list', '--json'], {
      env: { BOSUN_API_KEY: reader, BOSUN_SERVER: w.t.url },
    });
    expect(good.code).toBe(0);
    expect(good.stderr).toContain(`Using the server from BOSUN_SERVER (${w.t.url}).`);
    expect(JSON.parse(good.stdout).object).toBe('list');

    // Without any stored login the environment alone is enough (CI).
    const fresh = await w.bosun(['devices', 'list', '--json'], {
      env: { XDG_CONFIG_HOME: join(w.configHome, 'empty'), BOSUN_API_KEY: reader, BOSUN_SERVER: w.t.url },
    });
    expect(fresh.code).toBe(0);
  });

  it('login --json prints the principal', async () => {
    const res = await w.bosun(['login', '--server', w.t.url, '--api-key', w.t.adminKey, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ server: w.t.url, principal: { object: 'principal' } });
  });
});
