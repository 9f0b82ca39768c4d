import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { resolveServerConfig } from '../src/config.ts';
import { safeServerUrl } from '../src/downloads/install-script.ts';

/** The public download routes over a temp artifacts dir (the real artifacts: test/e2e/install). */
describe('downloads and install script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-artifacts-'));
  let t: TestServer;
  let empty: TestServer;

  beforeAll(async () => {
    writeFileSync(join(dir, 'SHA256SUMS'), 'abc  bosun-agent-linux-x64\n');
    writeFileSync(join(dir, 'bosun-agent-linux-x64'), Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    writeFileSync(join(dir, 'bosun-agent_arm64.deb'), 'deb');
    writeFileSync(join(dir, 'bosun-agent.cjs'), '"use strict";');
    writeFileSync(join(dir, 'bosun-agent.service'), '[Unit]\n');
    writeFileSync(join(dir, '.secret'), 'no');
    mkdirSync(join(dir, 'subdir'));
    t = await startTestServer({
      config: { artifactsDir: dir, publicUrl: 'https://fleet.example.com:8443' },
    });
    empty = await startTestServer({ config: { artifactsDir: join(dir, 'missing') } });
  });
  afterAll(async () => {
    await t?.close();
    await empty?.close();
  });

  const get = (s: TestServer, path: string) => s.api('GET', path, { key: null, version: null });

  it('serves each file with its content type, without an API key or version header', async () => {
    const cases: [string, string][] = [
      ['SHA256SUMS', 'text/plain; charset=utf-8'],
      ['bosun-agent-linux-x64', 'application/octet-stream'],
      ['bosun-agent_arm64.deb', 'application/vnd.debian.binary-package'],
      ['bosun-agent.cjs', 'text/javascript; charset=utf-8'],
      ['bosun-agent.service', 'text/plain; charset=utf-8'],
    ];
    for (const [file, type] of cases) {
      const res = await get(t, `/downloads/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toBe(type);
    }
    expect((await get(t, '/downloads/SHA256SUMS')).text).toBe('abc  bosun-agent-linux-x64\n');
  });

  it('anything else is a 404 envelope: unknown, dot files, directories, traversal, a missing dir', async () => {
    for (const [s, path] of [
      [t, '/downloads/nope'],
      [t, '/downloads/.secret'],
      [t, '/downloads/subdir'],
      [t, '/downloads/..%2Fconfig.ts'],
      [empty, '/downloads/SHA256SUMS'],
    ] as const) {
      const res = await get(s, path);
      expect(res.status, path).toBe(404);
      expect(res.body.error, path).toMatchObject({ code: 'download_not_found', params: {} });
    }
    // A NUL is refused before any route runs, like everywhere else (docs/decisions.md #47).
    const nul = await get(t, '/downloads/bosun%00agent');
    expect(nul.status).toBe(400);
    expect(nul.body.error).toMatchObject({ code: 'invalid_text' });
  });

  it('renders /install.sh with BOSUN_PUBLIC_URL when set', async () => {
    const res = await get(t, '/install.sh');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/x-shellscript; charset=utf-8');
    expect(res.text).toContain("SERVER_URL='https://fleet.example.com:8443'\n");
    // Without it, the request's own host.
    const own = await get(empty, '/install.sh');
    expect(own.text).toContain(`SERVER_URL='${empty.url}'\n`);
  });

  it('BOSUN_PUBLIC_URL must be a plain http(s) URL: nothing that could escape the script', () => {
    expect(resolveServerConfig({}, { BOSUN_PUBLIC_URL: 'https://bosun.example.com/' }).publicUrl).toBe(
      'https://bosun.example.com',
    );
    expect(resolveServerConfig({}, { BOSUN_PUBLIC_URL: 'https://example.com/bosun' }).publicUrl).toBe(
      'https://example.com/bosun',
    );
    for (const bad of ["https://x/'$(reboot)'", 'ftp://x', 'https://u:p@x', 'https://x/?a=1', 'not a url'])
      expect(() => resolveServerConfig({}, { BOSUN_PUBLIC_URL: bad }), bad).toThrow(/BOSUN_PUBLIC_URL/);
    expect(safeServerUrl("http://a'b")).toBeUndefined();
  });
});
