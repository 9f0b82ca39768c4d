/**
 * The dashboard at fleet scale: 10,000 devices (half with a current deployment of one of 5
 * releases, a tenth with a staged one) in a real server (SQLite; BENCH_ENGINE=postgres for
 * PostgreSQL), the built page in Debian's Chromium. Reports the initial JavaScript (gzip), the
 * fleet and summary endpoints' latency, and the time from navigation to an interactive fleet page
 * (summary and first page of rows rendered) and to a search result. Medians of BENCH_DASHBOARD_RUNS
 * (default 5) after one warm-up. Needs `npm run build` (the page is served from packages/web/dist).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { newId } from '@bosun/core';
import { webDir } from '@bosun/web';
import { nowIso } from '../packages/server/src/db/time.ts';
import { seedDeploymentWorld } from '../packages/server/test/support-deployments.ts';
import { launchBrowser } from '../packages/web/test/support.ts';
import { startTestServer } from '../test/support/server.ts';
import type { TestEngine } from '../test/support/store.ts';
import type { Bench, BenchResult } from './run.ts';

const RUNS = Number(process.env.BENCH_DASHBOARD_RUNS ?? 5);
const DEVICES = Number(process.env.BENCH_DASHBOARD_DEVICES ?? 10_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => Math.round(n * 10) / 10;

/** Gzip size of the scripts index.html loads at once (lazy chunks excluded). */
function initialJsGzip(): number {
  const html = readFileSync(join(webDir, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<script[^>]+src="\/([^"]+)"/g)].map((m) => m[1]!);
  const preloads = [...html.matchAll(/<link rel="modulepreload"[^>]+href="\/([^"]+)"/g)].map((m) => m[1]!);
  return [...scripts, ...preloads].reduce((n, f) => n + gzipSync(readFileSync(join(webDir, f))).length, 0);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const bench: Bench = {
  name: 'dashboard',
  async run(): Promise<BenchResult[]> {
    const engine = (process.env.BENCH_ENGINE as TestEngine | undefined) ?? 'sqlite';
    const t = await startTestServer({ engine });
    const db = t.server.store.db;
    const world = await seedDeploymentWorld(db, { extraReleases: 3 });
    const releases = [world.v1, world.v2, ...world.extraReleases];
    const now = nowIso();
    const rows = Array.from({ length: DEVICES }, (_, i) => ({
      id: newId('device'),
      name: `amr-${String(i).padStart(5, '0')}`,
      status: (i % 3 === 0 ? 'offline' : 'online') as 'online' | 'offline',
      agent_version: 'v0.1.0',
      last_connected_at: now,
      last_disconnected_at: i % 3 === 0 ? now : null,
      last_seen_at: now,
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await db
        .insertInto('devices')
        .values(rows.slice(i, i + 500))
        .execute();
    const deployment = (deviceId: string, releaseId: string, target: 'deployed' | 'staged', k: number) => ({
      id: newId('deployment'),
      description: 'bench',
      device_id: deviceId,
      release_id: releaseId,
      parent_id: null,
      target_status: target,
      activity_status: target === 'deployed' ? ('deployed' as const) : ('staged' as const),
      error_status: k % 50 === 0 ? ('failed' as const) : ('none' as const),
      error_message: null,
      staged_at: target === 'staged' ? now : null,
      current_at: target === 'deployed' ? now : null,
      deployed_at: target === 'deployed' ? now : null,
      archived_at: null,
      created_at: now,
      updated_at: now,
    });
    const deployments = [
      ...rows
        .filter((_, i) => i % 2 === 0)
        .map((d, k) => deployment(d.id, releases[k % releases.length]!, 'deployed', k)),
      ...rows
        .filter((_, i) => i % 10 === 1)
        .map((d, k) => deployment(d.id, releases[(k + 1) % releases.length]!, 'staged', 1)),
    ];
    for (let i = 0; i < deployments.length; i += 500)
      await db
        .insertInto('deployments')
        .values(deployments.slice(i, i + 500))
        .execute();

    const results: BenchResult[] = [];
    results.push({
      metric: 'initial JS (gzip)',
      value: Math.round(initialJsGzip() / 1024),
      unit: 'KiB',
      note: 'budget 300',
    });
    const apiMs = (path: string) => timed(() => t.api('GET', path));
    results.push({
      metric: `GET /fleet first page (${DEVICES} devices)`,
      value: ms(await apiMs('fleet?limit=50')),
      unit: 'ms',
    });
    results.push({
      metric: 'GET /fleet?q=amr-0999&status=online',
      value: ms(await apiMs('fleet?q=amr-0999&status=online')),
      unit: 'ms',
    });
    results.push({ metric: 'GET /fleet/summary', value: ms(await apiMs('fleet/summary')), unit: 'ms' });

    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const signIn = await context.request.post(`${t.url}/ui/session`, { data: { api_key: t.adminKey } });
      if (!signIn.ok()) throw new Error(`sign-in failed: ${signIn.status()}`);
      const page = await context.newPage();
      const interactive = await timed(async () => {
        // A fresh document each run: no query cache, the page's JS parsed again (assets from the HTTP cache).
        await page.goto('about:blank');
        await page.goto(`${t.url}/#/fleet`, { waitUntil: 'commit' });
        await page.locator('tr[data-device="amr-00049"]').waitFor();
        await page.locator('.summary').waitFor();
      });
      results.push({
        metric: 'fleet page: navigation → interactive',
        value: ms(interactive),
        unit: 'ms',
        note: 'budget 1000',
      });
      const search = await timed(async () => {
        await page.getByLabel('Search').fill('');
        await page.locator('tr[data-device="amr-00000"]').waitFor();
        await page.getByLabel('Search').fill('amr-0777');
        await page.locator('tr[data-device="amr-07779"]').waitFor();
      });
      results.push({ metric: 'fleet page: clear + search → rows', value: ms(search), unit: 'ms' });
    } finally {
      await browser.close();
      await t.close();
    }
    return results;
  },
};

export default bench;
