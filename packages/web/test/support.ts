import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { webDir } from '@bosun/web';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`, as .ci/run does); BOSUN_CHROMIUM overrides. */
export const CHROMIUM = process.env.BOSUN_CHROMIUM ?? '/usr/bin/chromium';

/** The dashboard must be built (the root build does it); a missing build is made here once. */
export function ensureWebBuild(): void {
  if (existsSync(join(webDir, 'index.html'))) return;
  execFileSync(process.execPath, [createRequire(import.meta.url).resolve('vite/bin/vite.js'), 'build'], {
    cwd: join(webDir, '..'),
    stdio: 'inherit',
  });
}

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (rule id and targets). */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document) => Promise<any> } }).axe;
    const r = await axe.run(document);
    return r.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
  });
  return result as string[];
}

export const screenshotDir = join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots');
