import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { example } from '../../../test/support/robot-configs.ts';
import { API_VERSION, BIN } from './cli-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'bosun-demo-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Resolves with the output so far once `pattern` appears on stdout; rejects if the process exits first. */
function waitForOutput(child: ReturnType<typeof spawn>, out: { text: string }, pattern: RegExp) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      const m = out.text.match(pattern);
      if (m) {
        child.stdout!.off('data', check);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`bosun demo exited (${code}) before ${pattern}:\n${out.text}`));
    child.stdout!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

describe('bosun demo', () => {
  it('brings up a server and an agent, deploys the examples, prints what to try, and stops cleanly on Ctrl-C', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
    for (const key of Object.keys(env)) if (key.startsWith('BOSUN_')) delete env[key];
    const child = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--data-dir', dataDir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { text: '' };
    let stderr = '';
    child.stdout.on('data', (d) => {
      out.text += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitForOutput(child, out, /✓ Deployment (dpl_\w+) queued → deployed\n/);
      await waitForOutput(child, out, /^Ctrl-C stops/m);
      const text = out.text;
      expect(stderr).toBe('');
      expect(text).toMatch(/^✓ Created release v1\.0\.0$/m);

      // The files the agent wrote are where the demo says, with the example instances' exact bytes.
      const files = [...text.matchAll(/^ {2}(\/\S+\/srv\/bosun\/configs\/(\w+)\.json)$/gm)];
      expect(files.map((m) => m[2]).sort()).toEqual(['mobility', 'perception', 'safety']);
      const picked: Record<string, string> = {
        mobility: 'mobility.valid-tugger.json',
        perception: 'perception.valid-front-rear.json',
        safety: 'safety.valid-dock.json',
      };
      for (const [, path, type] of files)
        expect(readFileSync(path!, 'utf8')).toBe(example(`instances/${picked[type!]}`));
      const agentDir = /files under (\S+)\/root\)/.exec(text)![1]!;

      // The printed server URL and key work, and the API agrees the deployment is deployed.
      const [, server, key] = /export BOSUN_SERVER=(\S+) BOSUN_API_KEY=(\S+)/.exec(text)!;
      const dpl = /✓ Deployment (dpl_\w+) queued → deployed/.exec(text)![1]!;
      const res = await fetch(`${server}/beta/deployments/${dpl}`, {
        headers: { 'x-api-key': key!, 'miru-version': API_VERSION },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'deployed', target_status: 'deployed' });
      // What to try next names real commands with real ids.
      expect(text).toContain(`npx bosun deployments events ${dpl}`);
      expect(text).toMatch(
        /npx bosun instances create --schema cfg_sch_\w+ --file \S+mobility\.valid-night-shift\.json/,
      );

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out.text).toMatch(/Stopped\.\n$/);
      // The temporary agent directory is removed; the given data directory is kept, with the database.
      expect(existsSync(agentDir)).toBe(false);
      expect(existsSync(dataDir)).toBe(true);
      await expect(fetch(`${server}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
