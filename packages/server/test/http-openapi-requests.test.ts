import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION, provisionDevice } from '../../../test/support/device-agent.ts';
import {
  API_VERSION,
  type ApiResponse,
  startTestServer,
  type TestServer,
} from '../../../test/support/server.ts';

/**
 * Requests built from our own OpenAPI document, the way Swagger UI's "Try it out" and generated
 * clients build them: every operation, with nothing added that the document does not declare.
 * docs/decisions.md #40: an empty JSON body is no body; `Miru-Version` is declared everywhere.
 */
let t: TestServer;
let doc: any;
beforeAll(async () => {
  t = await startTestServer();
  const res = await t.api('GET', '/beta/openapi.json', { key: null, version: null });
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await t?.close();
});

interface Operation {
  method: string;
  path: string;
  operationId: string;
  parameters: any[];
  requestBody: any;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation with its parameters resolved (path-level ones first, `$ref`s followed). */
function operations(): Operation[] {
  const resolve = (p: any) =>
    p.$ref ? doc.components.parameters[p.$ref.replace('#/components/parameters/', '')] : p;
  return Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({
      method,
      path,
      operationId: item[method].operationId,
      parameters: [...(item.parameters ?? []), ...(item[method].parameters ?? [])].map(resolve),
      requestBody: item[method].requestBody,
    })),
  );
}

/** What a generator fills in: path params (a well-formed unknown id), required params' defaults. */
function generatedRequest(op: Operation): { url: string; headers: Record<string, string> } {
  let path = op.path;
  const headers: Record<string, string> = {};
  const query = new URLSearchParams();
  for (const p of op.parameters) {
    const value = p.schema?.default ?? p.schema?.example ?? p.example;
    if (p.in === 'path') path = path.replace(`{${p.name}}`, `${p.name.replace(/_id$/, '')}_unknown`);
    else if (p.required && value === undefined)
      throw new Error(`${op.operationId}: ${p.name} has no default`);
    else if (p.required && p.in === 'header') headers[p.name] = String(value);
    else if (p.required && p.in === 'query') query.set(p.name, String(value));
  }
  const scheme = doc.components.securitySchemes.ApiKeyAuth;
  headers[scheme.name] = t.adminKey;
  const base = `${t.url}${doc.servers[0].url}${path}`;
  return { url: query.size ? `${base}?${query}` : base, headers };
}

async function send(url: string, init: RequestInit): Promise<ApiResponse> {
  const res = await fetch(url, init);
  // An event stream never ends: its status and headers are the answer (the body is cancelled).
  const streaming = res.headers.get('content-type')?.startsWith('text/event-stream');
  if (streaming) await res.body?.cancel();
  const text = streaming ? '' : await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body, text };
}

describe('Miru-Version in our OpenAPI document', () => {
  it('every operation declares it as the reference does: required header, tetons default', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(20);
    for (const op of ops) {
      const version = op.parameters.filter((p) => p.in === 'header' && p.name === 'Miru-Version');
      expect(version, op.operationId).toEqual([
        expect.objectContaining({
          required: true,
          schema: expect.objectContaining({ type: 'string', default: API_VERSION, example: API_VERSION }),
        }),
      ]);
    }
  });

  it('a request generated from the document is never 400 missing_version (nor a 5xx)', async () => {
    const problems: string[] = [];
    for (const op of operations()) {
      const { url, headers } = generatedRequest(op);
      const init: RequestInit = { method: op.method.toUpperCase(), headers };
      if (op.requestBody) {
        headers['content-type'] = 'application/json';
        init.body = '{}';
      }
      const res = await send(url, init);
      if (res.body?.error?.code === 'missing_version' || res.status >= 500)
        problems.push(`${op.operationId}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('/docs is branded Bosun', () => {
  it('has a Bosun title, favicon and top-bar logo instead of the stock Swagger ones', async () => {
    const html = await (await fetch(`${t.url}/docs/`)).text();
    expect(html).toContain('<title>Bosun API reference</title>');
    expect(html).not.toContain('favicon-32x32.png');
    const icon = html.match(/href="([^"]+bosun\.svg)"/)?.[1];
    expect(icon).toBeDefined();
    expect((await fetch(new URL(icon!, `${t.url}/docs/`))).headers.get('content-type')).toContain('svg');
    const init = await (await fetch(`${t.url}/docs/static/swagger-initializer.js`)).text();
    const logo = init.match(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/)?.[1];
    expect(Buffer.from(logo ?? '', 'base64').toString()).toContain('Bosun');
    expect(doc.info.title).toBe('Bosun Platform API');
  });
});

describe('an empty body with Content-Type: application/json is no body', () => {
  it('every POST operation of the document: never 400 malformed_json, never a 5xx', async () => {
    const posts = operations().filter((op) => op.method === 'post');
    expect(posts.map((op) => op.operationId)).toEqual(
      expect.arrayContaining(['deployDeployment', 'archiveDeployment', 'createDeviceActivationToken']),
    );
    const problems: string[] = [];
    for (const op of posts) {
      const { url, headers } = generatedRequest(op);
      const res = await send(url, {
        method: 'POST',
        // The version header is set whatever the document says, so this test stands on its own.
        headers: {
          ...headers,
          'miru-version': API_VERSION,
          'content-type': 'application/json',
          'content-length': '0',
        },
      });
      if (res.body?.error?.code === 'malformed_json' || res.status >= 500 || !res.body?.error?.code)
        problems.push(`${op.operationId}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
  });

  it('is exactly no body: same answer with and without the content type, `{}` for an object body', async () => {
    const device = (await t.api('POST', 'devices', { body: { name: 'empty-body' } })).body;
    for (const path of ['devices', `devices/${device.id}/ping`, 'deployments/dpl_unknown/deploy']) {
      const empty = await t.api('POST', path, { rawBody: '' });
      const none = await t.api('POST', path);
      expect(empty.status, `${path}: ${empty.text}`).toBe(none.status);
      expect(empty.body.error.code).toBe(none.body.error.code);
    }
    // The operation takes an object whose fields are all optional: an empty body is `{}`, a 200.
    const token = await t.api('POST', `devices/${device.id}/activation_token`, { rawBody: '' });
    expect(token.status, token.text).toBe(200);
    expect(token.body.token).toEqual(expect.any(String));
    const patch = await t.api('PATCH', `devices/${device.id}`, { rawBody: '' });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.body).toEqual(device);
    // Whitespace or a broken document is still malformed: only zero bytes mean "no body".
    expect((await t.api('POST', 'devices', { rawBody: ' {' })).body.error.code).toBe('malformed_json');
  });

  it('the agent API too: every POST route of its route table', async () => {
    const device = await provisionDevice(t);
    const routes = t.server.app.routeTable.filter(
      (r) => r.method === 'POST' && r.url.startsWith('/agent/v1'),
    );
    expect(routes.map((r) => r.url)).toEqual(
      expect.arrayContaining(['/agent/v1/activate', '/agent/v1/token']),
    );
    for (const route of routes) {
      const res = await send(`${t.url}${route.url.replace(/:(\w+)/g, 'unknown')}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'bosun-agent-version': AGENT_VERSION,
          authorization: `Bearer ${device.token}`,
        },
      });
      expect(res.body?.error?.code, `${route.url}: ${res.text}`).not.toBe('malformed_json');
      expect(res.status, `${route.url}: ${res.text}`).toBeLessThan(500);
    }
  });
});

describe("the README's curl lines for deploy, archive and restage", () => {
  // The README is the user's first contact: its lines must work exactly as printed.
  const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
  const headerArray = readme.match(/^H=\(.*\)$/m)?.[0];
  const curlLine = (action: string) =>
    readme.match(
      new RegExp(`^curl "\\$\\{H\\[@\\]\\}" .*/beta/deployments/dpl_\\.\\.\\./${action}\\b.*$`, 'm'),
    )?.[0];

  it('work as printed, with the content type the header array sets', async () => {
    expect(headerArray).toContain("'Content-Type: application/json'");
    const device = (await t.api('POST', 'devices', { body: { name: 'readme-robot' } })).body;
    const releases = [await release(), await release()];
    const instances = await Promise.all(releases.map((r) => instance(r.schemaId)));
    const stage = async (i: number) => {
      const res = await t.api('POST', 'deployments', {
        body: {
          target_status: 'staged',
          description: `readme ${i}`,
          release_id: releases[i]!.id,
          device_id: device.id,
          config_instance_ids: [instances[i]!.id],
        },
      });
      expect(res.status, res.text).toBe(200);
      return res.body.id as string;
    };
    const first = await stage(0);
    const second = await stage(1);
    // The server runs in this process: curl must run asynchronously or neither could proceed.
    const run = async (action: string, id: string) => {
      const line = curlLine(action);
      expect(line, `README has no curl line for /${action}`).toBeDefined();
      const script = `${headerArray}\n${line!.replace(/#.*$/, '').replaceAll('http://127.0.0.1:8080', t.url).replaceAll('dpl_...', id)} -sS -w '\\n%{http_code}'`;
      const { stdout } = await promisify(execFile)('bash', ['-c', script], {
        env: { ...process.env, K: t.adminKey },
      });
      const out = stdout.trim().split('\n');
      const status = Number(out.pop());
      return { status, body: JSON.parse(out.join('\n')) };
    };
    const deployed = await run('deploy', first);
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200);
    expect(deployed.body).toMatchObject({ id: first, target_status: 'deployed' });
    // Deploying the first drifted the second: restage accepts it, archive removes it.
    const restaged = await run('restage', second);
    expect(restaged.status, JSON.stringify(restaged.body)).toBe(200);
    expect(restaged.body).toMatchObject({ id: second, activity_status: 'staged' });
    const archived = await run('archive', second);
    expect(archived.status, JSON.stringify(archived.body)).toBe(200);
    expect(archived.body).toMatchObject({ id: second, target_status: 'archived' });
  });
});

const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: { speed: { type: 'number' } },
});

async function release(): Promise<{ id: string; schemaId: string }> {
  const slug = `readme-${Math.random().toString(36).slice(2, 10)}`;
  const type = await t.api('POST', 'config_types', { body: { name: slug, slug } });
  const schema = await t.api('POST', 'config_schemas', {
    body: {
      config_type_ref: { id: type.body.id },
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'speed.schema.json', data: SCHEMA }],
    },
  });
  expect(schema.status, schema.text).toBe(200);
  const version = `v1.${Math.floor(Math.random() * 1e6)}.0`;
  const res = await t.api('POST', 'releases', { body: { version, config_schema_ids: [schema.body.id] } });
  expect(res.status, res.text).toBe(200);
  return { id: res.body.id, schemaId: schema.body.id };
}

async function instance(schemaId: string): Promise<{ id: string }> {
  const res = await t.api('POST', 'config_instances', {
    body: { config_schema_id: schemaId, content: { format: 'json', data: '{"speed": 1.5}' } },
  });
  expect(res.status, res.text).toBe(200);
  return res.body;
}
