import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
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
 * The fleet-operation pages in Debian's Chromium against a real server (SQLite, or PostgreSQL with
 * BOSUN_TEST_ENGINE=postgres) and two real `bosun agent run` processes: groups and tags and the
 * fleet filters over them, a rollout that completes on both robots and one that is paused, resumed
 * and aborted, a webhook endpoint whose secret is shown once and whose test event reaches a receiver
 * on loopback (verified with the `standardwebhooks` library), and the error boundary.
 */
const tugger = example('instances/mobility.valid-tugger.json');
const run = Math.random().toString(36).slice(2, 7);

let server: RestartableServer;
let browser: Browser;
const agents = [new AgentProcess(), new AgentProcess()];
const robots: { id: string; name: string }[] = [];
let offline: { id: string; name: string };
let instanceId: string;
let FILE: string;

/** A receiver on loopback that answers 200 and keeps what it got. */
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
let receiver: Server;
let receiverUrl: string;

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, key: string) {
  await page.goto(server.url);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
}

/** The names in the fleet table once it shows exactly `count` rows. */
async function fleetNames(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction((n) => document.querySelectorAll('table.grid tbody tr').length === n, count);
  return page
    .locator('table.grid tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device')!));
}

beforeAll(async () => {
  ensureWebBuild();
  // Test receivers listen on loopback over http; the operator switch allows exactly that.
  process.env.BOSUN_WEBHOOKS_ALLOW_PRIVATE = '1';
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  server = new RestartableServer(await freePort(), undefined);
  await server.start();
  const type = await server.api('POST', 'config_types', { name: `mobility-${run}`, slug: `mobility-${run}` });
  const schema = await server.api('POST', 'config_schemas', {
    config_type_ref: { id: type.id },
    ...exampleSchemaSource('mobility'),
  });
  FILE = schema.instance_filepath;
  await server.api('POST', 'releases', { version: 'v2.0.0', config_schema_ids: [schema.id] });
  instanceId = (
    await server.api('POST', 'config_instances', {
      config_schema_id: schema.id,
      content: { format: 'json', data: tugger },
    })
  ).id;
  for (const [i, agent] of agents.entries()) {
    const device = await server.api('POST', 'devices', { name: `amr-${run}-${i}` });
    const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
    const provisioned = await runCli(
      ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir],
      { BOSUN_ACTIVATION_TOKEN: token },
    );
    expect(provisioned.code, provisioned.stderr).toBe(0);
    agent.start();
    robots.push(device);
  }
  // Never provisioned: a rollout counts it as pending, so that rollout keeps running until told.
  offline = await server.api('POST', 'devices', { name: `amr-${run}-offline` });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  for (const a of agents) await a.stop();
  await server?.destroy();
  await new Promise((r) => receiver?.close(r));
  delete process.env.BOSUN_WEBHOOKS_ALLOW_PRIVATE;
});

describe('fleet operations in the dashboard', () => {
  it('groups: create a tree, assign a device, tag another, filter the fleet by group and by tag', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await signIn(page, server.adminKey);
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('heading', { name: 'Groups' }).waitFor();

    const create = async (name: string, parent: string) => {
      await page.getByLabel('New group name').fill(name);
      await page.getByLabel('Parent').selectOption({ label: parent });
      await page.getByRole('button', { name: 'Create group' }).click();
      await page.getByRole('heading', { name: new RegExp(`${name}$`) }).waitFor();
    };
    await create(`site-${run}`, '(root)');
    await create(`line-${run}`, `site-${run}`);
    await page.getByRole('heading', { name: `site-${run} / line-${run}` }).waitFor();
    await page.getByLabel('Device names (comma-separated)').fill(robots[0]!.name);
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.locator(`tr[data-device="${robots[0]!.name}"]`).waitFor();
    // The tree shows the subgroup under its parent.
    expect(await page.locator('.tree li').allTextContents()).toEqual([`site-${run}`, `line-${run}`]);
    await screenshot(page, 'groups');
    expect(await seriousA11yViolations(page)).toEqual([]);

    // Rename, then unassign and assign again: the API's state follows the page.
    await page.getByLabel('Name', { exact: true }).fill(`line2-${run}`);
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: `site-${run} / line2-${run}` }).waitFor();
    // Move it to the root and back under its site.
    const moveUnder = page.getByRole('combobox', { name: /^Move under/ });
    await moveUnder.selectOption({ label: '(root)' });
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByRole('heading', { name: `line2-${run}`, exact: true }).waitFor();
    const line = await server.api('GET', `groups?name=line2-${run}`);
    expect(line.data[0].parent_id).toBeNull();
    await moveUnder.selectOption({ label: `site-${run}` });
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByRole('heading', { name: `site-${run} / line2-${run}` }).waitFor();
    await page.getByRole('button', { name: `Unassign ${robots[0]!.name}` }).click();
    await page.getByText('No devices in this group.').waitFor();
    expect((await server.api('GET', `devices/${robots[0]!.id}/membership`)).group_id).toBeNull();
    await page.getByLabel('Device names (comma-separated)').fill(robots[0]!.name);
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.locator(`tr[data-device="${robots[0]!.name}"]`).waitFor();

    // Tags on the device page.
    await page.goto(`${server.url}/#/devices/${robots[1]!.id}`);
    await page.getByLabel('Tags (key=value, comma-separated)').fill('env=prod, site=berlin');
    await page.getByRole('button', { name: 'Save tags' }).click();
    await page.getByTestId('device-tags').getByText('env=prod, site=berlin').waitFor();
    expect((await server.api('GET', `devices/${robots[1]!.id}/membership`)).tags).toEqual({
      env: 'prod',
      site: 'berlin',
    });

    // The fleet filtered by the parent group (with subgroups), without subgroups, and by tag.
    await page.getByRole('link', { name: 'Fleet' }).click();
    await fleetNames(page, 3);
    await page.getByRole('combobox', { name: /^Group/ }).selectOption({ label: `site-${run}` });
    expect(await fleetNames(page, 1)).toEqual([robots[0]!.name]);
    expect(await page.locator(`tr[data-device="${robots[0]!.name}"]`).textContent()).toContain(
      `site-${run} / line2-${run}`,
    );
    await page.getByLabel('with subgroups').uncheck();
    await fleetNames(page, 0);
    await page.getByRole('combobox', { name: /^Group/ }).selectOption({ label: 'any' });
    await page.getByLabel('Tags', { exact: true }).fill('env=prod');
    expect(await fleetNames(page, 1)).toEqual([robots[1]!.name]);
    expect(await page.locator(`tr[data-device="${robots[1]!.name}"]`).textContent()).toContain('site=berlin');
    await page.getByLabel('Tags', { exact: true }).fill('!env');
    expect((await fleetNames(page, 2)).sort()).toEqual([robots[0]!.name, offline.name].sort());
    // A selector the server refuses says why.
    await page.getByLabel('Tags', { exact: true }).fill('env in (a');
    await page
      .getByRole('alert')
      .getByText(/tag selector|parenthes/i)
      .waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
    await context.close();
  });

  it('rollouts: one completes over two robots in two waves; another is paused, resumed and aborted', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, bypassCSP: true });
    const page = await context.newPage();
    await signIn(page, server.adminKey);
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await page.getByRole('button', { name: 'New rollout' }).click();
    await page.getByLabel('Description').fill(`mobility to both ${run}`);
    await page.getByLabel('Release').selectOption({ label: 'v2.0.0' });
    const plan = page.getByLabel(new RegExp(`^mobility-${run}`));
    await plan.locator(`option[value="${instanceId}"]`).waitFor({ state: 'attached' });
    await plan.selectOption(instanceId);
    await page.getByLabel('Device names (comma-separated)').fill(robots.map((r) => r.name).join(', '));
    await page.getByLabel(/^Waves/).fill('1, rest');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Start rollout' }).click();

    await page.getByRole('heading', { name: `mobility to both ${run}` }).waitFor();
    // Completion arrives without a reload: deployment events and polling refresh the page.
    await page.getByTestId('rollout-status').getByText('completed').waitFor({ timeout: 120_000 });
    const waves = page.locator('[data-testid="waves"] tbody tr');
    expect(await waves.count()).toBe(2);
    for (const w of [1, 2]) {
      const row = page.locator(`tr[data-wave="${w}"]`);
      expect(await row.locator('td[data-state="deployed"]').textContent()).toBe('1');
      expect(await row.locator('td[data-state="failed"]').textContent()).toBe('0');
    }
    await page.getByText('2 of 2 deployed').first().waitFor();
    await page.locator('.timeline li', { hasText: 'completed' }).first().waitFor();
    await screenshot(page, 'rollout');
    expect(await seriousA11yViolations(page)).toEqual([]);
    for (const a of agents)
      await waitFor('the file on the robot', async () => {
        try {
          return JSON.parse(readFileSync(a.path(FILE), 'utf8')).limits !== undefined;
        } catch {
          return false;
        }
      });

    // The offline robot stays pending, so this rollout runs until it is told otherwise.
    await page.getByRole('link', { name: '← Rollouts' }).click();
    await page.getByRole('button', { name: 'New rollout' }).click();
    await page.getByLabel('Description').fill(`offline one ${run}`);
    await page.getByLabel('Release').selectOption({ label: 'v2.0.0' });
    await plan.locator(`option[value="${instanceId}"]`).waitFor({ state: 'attached' });
    await plan.selectOption(instanceId);
    await page.getByLabel('Device names (comma-separated)').fill(offline.name);
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('heading', { name: `offline one ${run}` }).waitFor();
    const status = page.getByTestId('rollout-status');
    await status.getByText('running').waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await status.getByText('paused').waitFor();
    await page.getByTestId('rollout-reason').getByText('paused from the dashboard').waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await status.getByText('running').waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Abort' }).click();
    await status.getByText('aborted').waitFor();
    expect(await page.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    const api = await server.api('GET', 'rollouts?limit=10');
    expect(api.data.map((r: any) => [r.description, r.status]).sort()).toEqual(
      [
        [`mobility to both ${run}`, 'completed'],
        [`offline one ${run}`, 'aborted'],
      ].sort(),
    );

    await page.getByRole('link', { name: '← Rollouts' }).click();
    await page
      .locator(`tr[data-rollout="mobility to both ${run}"]`)
      .getByText('completed', { exact: true })
      .waitFor();
    await page
      .locator(`tr[data-rollout="offline one ${run}"]`)
      .getByText('aborted', { exact: true })
      .waitFor();
    await screenshot(page, 'rollouts');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await context.close();
  });

  it('webhooks: the secret is shown once, a test event reaches the receiver signed, redeliver, disable', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await signIn(page, server.adminKey);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('URL').fill(receiverUrl);
    await page.getByLabel('Description').fill('test receiver');
    await page.getByLabel(/^Event types/).fill('webhook.test, deployment.*');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secretText = page.locator('#secret-value');
    await secretText.waitFor();
    const secret = (await secretText.textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Copy secret' }).waitFor();
    await page.locator(`tr[data-endpoint="${receiverUrl}"]`).waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);

    // Never again: not after a reload, not on the endpoint's page, not from the API.
    await page.reload();
    await page.locator(`tr[data-endpoint="${receiverUrl}"]`).waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('link', { name: receiverUrl }).click();
    await page.getByRole('heading', { name: receiverUrl }).waitFor();
    expect(await page.content()).not.toContain(secret);
    const endpoints = await server.api('GET', 'webhook_endpoints');
    expect(JSON.stringify(endpoints)).not.toContain(secret);

    await page.getByRole('button', { name: 'Send test event' }).click();
    const row = page.locator('tr[data-event-type="webhook.test"]');
    await row.getByText('delivered').waitFor({ timeout: 60_000 });
    expect(await row.textContent()).toContain('200');
    const eventId = (await row.locator('code').textContent())!;
    const got = received.filter((r) => r.headers['webhook-id'] === eventId);
    expect(got).toHaveLength(1);
    // Signed per Standard Webhooks with the secret the page showed once.
    const payload = new Webhook(secret).verify(got[0]!.body, {
      'webhook-id': String(got[0]!.headers['webhook-id']),
      'webhook-timestamp': String(got[0]!.headers['webhook-timestamp']),
      'webhook-signature': String(got[0]!.headers['webhook-signature']),
    }) as { type: string; id: string };
    expect(payload).toMatchObject({ type: 'webhook.test', id: eventId });
    await screenshot(page, 'webhook-endpoint');
    expect(await seriousA11yViolations(page)).toEqual([]);

    // Redeliver: the same webhook-id again (receivers dedupe on it).
    await page.getByRole('button', { name: `Redeliver ${eventId}` }).click();
    await waitFor('the redelivery', async () =>
      received.filter((r) => r.headers['webhook-id'] === eventId).length === 2 ? true : undefined,
    );
    await row.locator('td', { hasText: /^2$/ }).waitFor();

    // Rotate: a new secret, shown once, different from the first.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText('Secret rotated').waitFor();
    const rotated = (await secretText.textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);

    // Edit: disable it; a disabled endpoint cannot be sent a test event.
    await page.getByLabel('enabled').uncheck();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('endpoint-state').getByText('disabled').waitFor();
    expect(await page.getByRole('button', { name: 'Send test event' }).isDisabled()).toBe(true);
    const stored = await server.api('GET', `webhook_endpoints/${payloadEndpoint(endpoints, receiverUrl)}`);
    expect(stored).toMatchObject({ enabled: false, event_types: ['webhook.test', 'deployment.*'] });
    await context.close();
  });

  it('a page that fails to render says so and offers a way back', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await signIn(page, server.adminKey);
    // A server answer the page cannot render (a rollout without its waves).
    await page.route('**/beta/rollouts/rlt_broken*', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ object: 'rollout', id: 'rlt_broken', description: 'broken' }),
      }),
    );
    await page.goto(`${server.url}/#/rollouts/rlt_broken`);
    await page.getByRole('heading', { name: 'This page could not be shown' }).waitFor();
    // The rest of the dashboard is still there.
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'Back to the fleet' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await context.close();
  });

  it('keyboard only, read-only key: the pages show no create/assign/pause controls', async () => {
    const key = await server.api('POST', 'api_keys', {
      name: `viewer-${run}`,
      scopes: [
        'devices:read',
        'deployments:read',
        'groups:read',
        'rollouts:read',
        'webhooks:read',
        'releases:read',
      ],
    });
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('API key').focus();
    await page.keyboard.insertText(key.secret);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    // Tab to the Groups link and follow it with Enter.
    const groupsLink = page.getByRole('link', { name: 'Groups' });
    for (let i = 0; i < 20; i++) {
      if (await groupsLink.evaluate((el) => el === document.activeElement)) break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await page.locator('.tree li').first().waitFor();
    expect(await page.getByLabel('New group name').count()).toBe(0);
    // Tab to the first group in the tree, Enter: its devices, without Assign or Unassign.
    const first = page.locator('.tree a').first();
    for (let i = 0; i < 30; i++) {
      if (await first.evaluate((el) => el === document.activeElement)) break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.locator('#group-title').waitFor();
    expect(await page.getByRole('button', { name: 'Assign', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Unassign/ }).count()).toBe(0);

    await page.goto(`${server.url}/#/rollouts`);
    await page.locator('table tbody tr').first().waitFor();
    expect(await page.getByRole('button', { name: 'New rollout' }).count()).toBe(0);
    await page.locator('table tbody tr a').first().click();
    await page.getByTestId('rollout-status').waitFor();
    expect(await page.getByRole('button', { name: /^(Pause|Resume|Abort)$/ }).count()).toBe(0);

    await page.goto(`${server.url}/#/webhooks`);
    await page.locator('table tbody tr').first().waitFor();
    expect(await page.getByRole('button', { name: 'Create endpoint' }).count()).toBe(0);
    await page.goto(`${server.url}/#/devices/${robots[1]!.id}`);
    await page.getByTestId('device-tags').waitFor();
    expect(await page.getByRole('button', { name: 'Save tags' }).count()).toBe(0);

    // A key without groups:read sees no Groups link.
    const narrow = await server.api('POST', 'api_keys', {
      name: `narrow-${run}`,
      scopes: ['devices:read', 'deployments:read'],
    });
    const other = await browser.newContext({ bypassCSP: true });
    const p2 = await other.newPage();
    await signIn(p2, narrow.secret);
    expect(await p2.getByRole('link', { name: 'Groups' }).count()).toBe(0);
    expect(await p2.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    expect(await p2.getByRole('combobox', { name: /^Group/ }).count()).toBe(0);
    await other.close();
    await context.close();
  });
});

function payloadEndpoint(list: { data: { id: string; url: string }[] }, url: string): string {
  return list.data.find((e) => e.url === url)!.id;
}
