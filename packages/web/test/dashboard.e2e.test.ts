import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentProcess,
  freePort,
  RestartableServer,
  runCli,
  waitFor,
} from '../../../test/e2e/support/fleet.ts';
import { example, exampleSchemaSource } from '../../../test/support/robot-configs.ts';
import { ensureWebBuild, launchBrowser, screenshotDir, seriousA11yViolations } from './support.ts';

/**
 * The dashboard in Debian's Chromium against a real server (SQLite, or PostgreSQL with
 * BOSUN_TEST_ENGINE=postgres; embedded broker) and a real `bosun agent run` process: sign in, see the
 * robot online, edit its config with one invalid value, fix it, deploy, watch `deployed` arrive live,
 * find the file on the robot's disk, and diff the two deployments. Screenshots go to docs/screenshots.
 */
const tugger = example('instances/mobility.valid-tugger.json');

let server: RestartableServer;
let browser: Browser;
const agent = new AgentProcess();
let device: { id: string; name: string };
let firstDeployment: string;
let stagedDeployment: string;
/** Where the agent writes the mobility config (the schema's instance file path). */
let FILE: string;

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, key: string) {
  await page.goto(server.url);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
}

beforeAll(async () => {
  ensureWebBuild();
  server = new RestartableServer(await freePort(), undefined);
  await server.start();
  const name = `robot-${Math.random().toString(36).slice(2, 8)}`;
  const type = await server.api('POST', 'config_types', {
    name: `mobility-${name}`,
    slug: `mobility-${name}`,
  });
  const schema = await server.api('POST', 'config_schemas', {
    config_type_ref: { id: type.id },
    ...exampleSchemaSource('mobility'),
  });
  FILE = schema.instance_filepath;
  const v1 = await server.api('POST', 'releases', { version: 'v1.0.0', config_schema_ids: [schema.id] });
  const v2 = await server.api('POST', 'releases', { version: 'v1.1.0', config_schema_ids: [schema.id] });
  const instance = await server.api('POST', 'config_instances', {
    config_schema_id: schema.id,
    content: { format: 'json', data: tugger },
  });
  device = await server.api('POST', 'devices', { name });
  const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
  const provisioned = await runCli(
    ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir],
    {
      BOSUN_ACTIVATION_TOKEN: token,
    },
  );
  expect(provisioned.code, provisioned.stderr).toBe(0);
  agent.start();
  const deploy = (release: string, target: string) =>
    server.api('POST', 'deployments', {
      description: `first ${target}`,
      device_id: device.id,
      release_id: release,
      target_status: target,
      config_instance_ids: [instance.id],
    });
  firstDeployment = (await deploy(v1.id, 'deployed')).id;
  stagedDeployment = (await deploy(v2.id, 'staged')).id;
  await waitFor('first deployment deployed', async () => {
    const d = await server.api('GET', `deployments/${firstDeployment}`);
    return d.status === 'deployed';
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await agent.stop();
  await server?.destroy();
});

describe('dashboard', () => {
  it('sign in → robot online → invalid edit shows its path → fix → deploy → deployed live → on disk → diff', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await signIn(page, server.adminKey);
    // The key is nowhere in the page's storage; the session cookie is httpOnly.
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie,
    );
    expect(stored).not.toContain(server.adminKey);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'bosun_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });

    const row = page.locator(`tr[data-device="${device.name}"]`);
    await row.getByText('online').waitFor();
    await page.getByText('● live').waitFor();
    await screenshot(page, 'fleet');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await row.getByRole('link', { name: device.name }).click();
    await page.getByRole('heading', { name: device.name, exact: true }).waitFor();
    await page.getByTestId('current-status').getByText('deployed').waitFor();
    await page.getByLabel(`Content of ${FILE}`).getByText('"tugger-t2"').waitFor();
    await screenshot(page, 'device');
    expect(await seriousA11yViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Edit config' }).click();
    const editor = page.getByLabel(`Editor for ${FILE}`);
    await editor.waitFor();
    const invalid = tugger.replace('"max_speed_mps": 1.4', '"max_speed_mps": 3.5');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText(invalid);
    const violation = page.locator('.violation[data-path="/limits/max_speed_mps"]');
    await violation.waitFor();
    expect(await violation.textContent()).toContain('must be <= 2.5');
    expect(await page.locator('.violation').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Deploy changes' }).isDisabled()).toBe(true);
    await screenshot(page, 'editor');
    expect(await seriousA11yViolations(page)).toEqual([]);

    const fixed = tugger.replace('"max_speed_mps": 1.4', '"max_speed_mps": 1.8');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText(fixed);
    await violation.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Review changes' }).click();
    const review = page.locator('.diff-table tbody tr');
    await review.first().waitFor();
    expect(await review.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')))).toEqual([
      '/limits/max_speed_mps',
    ]);
    await page.getByRole('button', { name: 'Deploy changes' }).click();
    const created = page.getByText(/Deployment dpl_\w+ created/);
    await created.waitFor();
    const newDeployment = /dpl_\w+/.exec((await created.textContent()) ?? '')![0];

    // `deployed` arrives through the event stream: no reload in between.
    const current = page.getByTestId('current-status');
    await current.getByText('deployed').waitFor({ timeout: 60_000 });
    await page.getByLabel(`Content of ${FILE}`).getByText('1.8').waitFor({ timeout: 60_000 });
    const onDisk = await waitFor('the new file on the robot', async () => {
      try {
        const text = readFileSync(agent.path(FILE), 'utf8');
        return text.includes('1.8') ? text : undefined;
      } catch {
        return undefined;
      }
    });
    expect(JSON.parse(onDisk)).toEqual(JSON.parse(fixed));

    // Compare: from the first deployment to the new one, exactly the changed path.
    const compare = page.locator('h2', { hasText: 'Compare deployments' });
    await compare.scrollIntoViewIfNeeded();
    await page.getByLabel('From').selectOption(firstDeployment);
    await page.getByLabel('To').selectOption(newDeployment);
    const rows = page.locator('.diff .diff-table tbody tr');
    await rows.first().waitFor();
    expect(await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-path')))).toEqual([
      '/limits/max_speed_mps',
    ]);
    expect(await rows.first().textContent()).toContain('1.4');
    expect(await rows.first().textContent()).toContain('1.8');
    await screenshot(page, 'device-diff');

    for (const [path, name] of [
      ['releases', 'releases'],
      ['deployments', 'deployments'],
      ['keys', 'api-keys'],
    ] as const) {
      await page.goto(`${server.url}/#/${path}`);
      await page.locator('h1').waitFor();
      await page.locator('table tbody tr').first().waitFor();
      await screenshot(page, name);
      expect(await seriousA11yViolations(page), path).toEqual([]);
    }

    // An un-provisioned robot: the page makes its activation token and shows the install command.
    const fresh = await server.api('POST', 'devices', { name: `unprovisioned-${Date.now()}` });
    await page.goto(`${server.url}/#/devices/${fresh.id}`);
    await page.getByRole('button', { name: 'Activation command' }).click();
    const install = page.getByLabel('Install command');
    await install.waitFor();
    expect(await install.textContent()).toMatch(
      new RegExp(`^curl -fsSL ${server.url}/install\\.sh \\| sudo sh -s -- --token 'bsn_act_\\w+'$`),
    );

    // Sign out ends the session: the API no longer answers the cookie.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const after = await page.evaluate(
      async () => (await fetch('/beta/devices', { headers: { 'miru-version': '2026-03-09.tetons' } })).status,
    );
    expect(after).toBe(401);
    await context.close();
  });

  it('keyboard only: a key without write scopes sees no Deploy button, and the API refuses the deploy anyway', async () => {
    const res = await server.api('POST', 'api_keys', {
      name: 'viewer',
      scopes: [
        'devices:read',
        'deployments:read',
        'releases:read',
        'config_instances:read',
        'config_schemas:read',
      ],
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    // Keyboard only: the key field, Enter to sign in, Tab to the search box, Enter on the device link.
    await page.goto(server.url);
    await page.getByLabel('API key').focus();
    await page.keyboard.insertText(res.secret);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await page.getByLabel('Search').evaluate((el) => el === document.activeElement)) break;
    }
    await page.keyboard.insertText(device.name);
    const link = page.locator(`tr[data-device="${device.name}"] a`);
    // The search is answered by the server: only the matching robot is left.
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    await link.waitFor();
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Staged' }).waitFor();
    await page.locator('.cards li').first().waitFor();
    expect(await page.getByRole('button', { name: 'Deploy', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Archive', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Edit config' }).count()).toBe(0);
    const refused = await page.evaluate(async (id) => {
      const csrf =
        document.cookie
          .split('; ')
          .find((c) => c.startsWith('bosun_csrf='))
          ?.split('=')[1] ?? '';
      const r = await fetch(`/beta/deployments/${id}/deploy`, {
        method: 'POST',
        headers: { 'miru-version': '2026-03-09.tetons', 'x-csrf-token': csrf },
      });
      return { status: r.status, body: await r.json() };
    }, stagedDeployment);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('missing_scope');
    const still = await server.api('GET', `deployments/${stagedDeployment}`);
    expect(still.target_status).toBe('staged');
    await context.close();
  });
});
