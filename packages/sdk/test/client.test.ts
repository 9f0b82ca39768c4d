import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { example as fixture } from '../../../test/support/robot-configs.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { API_VERSION, BosunApiError, BosunClient, BosunNetworkError, collect } from '../src/index.ts';
import { closedPort, startProxy } from './support/proxy.ts';

let t: TestServer;
let client: BosunClient;

beforeAll(async () => {
  t = await startTestServer();
  client = new BosunClient({ baseUrl: t.url, apiKey: t.adminKey, retryBaseMs: 1 });
});
afterAll(async () => {
  await t?.close();
});

describe('BosunClient against a real server', () => {
  it('takes its request and response types from the generated OpenAPI document', () => {
    expectTypeOf<Parameters<BosunClient['devices']['create']>[0]>().toEqualTypeOf<{ name: string }>();
    type Status = Awaited<ReturnType<BosunClient['deployments']['get']>>['status'];
    expectTypeOf<Status>().toEqualTypeOf<
      'drifted' | 'staged' | 'queued' | 'deployed' | 'archived' | 'failed' | 'retrying'
    >();
    type Item = Awaited<ReturnType<BosunClient['releases']['listAll']>>[number];
    expectTypeOf<Item['version']>().toEqualTypeOf<string>();
    // @ts-expect-error a device name is a string
    const wrong = () => client.devices.create({ name: 1 });
    expect(typeof wrong).toBe('function');
  });

  it('sends Miru-Version and the key on every request, and accepts a base URL with or without /beta', async () => {
    const proxy = await startProxy(t.url);
    try {
      const viaProxy = new BosunClient({ baseUrl: `${proxy.url}/beta/`, apiKey: t.adminKey });
      const me = await viaProxy.principal();
      expect(me.id).toMatch(/^api_key_/);
      await viaProxy.devices.list();
      expect(proxy.seen.map((r) => r.url)).toEqual(['/beta/principal', '/beta/devices']);
      for (const r of proxy.seen) {
        expect(r.headers['miru-version']).toBe(API_VERSION);
        expect(r.headers['x-api-key']).toBe(t.adminKey);
      }
    } finally {
      await proxy.close();
    }
  });

  it('throws BosunApiError carrying the error envelope', async () => {
    const err = await client.devices.get('dvc_missing').catch((e) => e);
    expect(err).toBeInstanceOf(BosunApiError);
    expect(err.status).toBe(404);
    expect(err.code).toBe('resource_not_found');
    expect(err.params).toMatchObject({ id: 'dvc_missing' });
    expect(err.envelope.error.message).toBe(err.message);

    const wrongTrain = new BosunClient({ baseUrl: t.url, apiKey: t.adminKey, apiVersion: '2026-09-01.zion' });
    const versionErr = await wrongTrain.principal().catch((e) => e);
    expect(versionErr).toBeInstanceOf(BosunApiError);
    expect(versionErr.code).toBe('unsupported_version');

    const badKey = await new BosunClient({ baseUrl: t.url, apiKey: 'bsn_nope' }).principal().catch((e) => e);
    expect(badKey.status).toBe(401);
  });

  it('iterates every page of a list of 250 items', async () => {
    const names = Array.from({ length: 250 }, (_, i) => `page-robot-${String(i).padStart(3, '0')}`);
    for (const name of names) await client.devices.create({ name });
    const proxy = await startProxy(t.url);
    try {
      const viaProxy = new BosunClient({ baseUrl: proxy.url, apiKey: t.adminKey });
      const seen: string[] = [];
      for await (const d of viaProxy.devices.iterate({ name: names })) seen.push(d.name);
      expect(seen.sort()).toEqual(names);
      // 100 + 100 + 50: the largest page size, so the fewest requests.
      expect(proxy.seen).toHaveLength(3);
      expect(proxy.seen.map((r) => new URL(r.url, 'http://x').searchParams.get('offset'))).toEqual([
        '0',
        '100',
        '200',
      ]);

      const small = await collect(viaProxy.devices.iterate({ name: names, limit: 40, offset: 10 }));
      expect(small).toHaveLength(240);
      expect(new Set(small.map((d) => d.id)).size).toBe(240);

      const all = await viaProxy.devices.listAll({ name: names });
      expect(all).toHaveLength(250);
      const page = await viaProxy.devices.list({ name: names, limit: 5, expand: 'total_count' });
      expect(page).toMatchObject({ object: 'list', limit: 5, has_more: true, total_count: 250 });
    } finally {
      await proxy.close();
    }
  });

  it('retries once on a 503 and succeeds, without the caller noticing', async () => {
    const proxy = await startProxy(t.url, (_req, i) => (i === 0 ? { status: 503, body: '' } : null));
    try {
      const viaProxy = new BosunClient({ baseUrl: proxy.url, apiKey: t.adminKey, retryBaseMs: 1 });
      const device = await viaProxy.devices.create({ name: 'retry-robot' });
      expect(device.name).toBe('retry-robot');
      expect(proxy.seen.map((r) => r.method)).toEqual(['POST', 'POST']);
      const [found] = await client.devices.listAll({ name: 'retry-robot' });
      expect(found?.id).toBe(device.id);
    } finally {
      await proxy.close();
    }
  });

  it('honours Retry-After on 429, gives up after its retries, and never retries a 4xx', async () => {
    const limited = await startProxy(t.url, (req, i) =>
      req.url === '/beta/principal' && i < 2
        ? {
            status: 429,
            headers: { 'retry-after': '0' },
            body: '{"error":{"code":"rate_limited","message":"slow down","params":{}}}',
          }
        : null,
    );
    const down = await startProxy(t.url, () => ({
      status: 503,
      body: '{"error":{"code":"unavailable","message":"draining","params":{}}}',
    }));
    try {
      const a = new BosunClient({ baseUrl: limited.url, apiKey: t.adminKey, retryBaseMs: 1 });
      expect((await a.principal()).id).toMatch(/^api_key_/);
      expect(limited.seen).toHaveLength(3);

      const b = new BosunClient({ baseUrl: down.url, apiKey: t.adminKey, retries: 2, retryBaseMs: 1 });
      const err = await b.principal().catch((e) => e);
      expect(err).toBeInstanceOf(BosunApiError);
      expect(err.status).toBe(503);
      expect(err.code).toBe('unavailable');
      expect(down.seen).toHaveLength(3);

      limited.seen.length = 0;
      const notFound = await a.devices.get('dvc_missing').catch((e) => e);
      expect(notFound.status).toBe(404);
      expect(limited.seen).toHaveLength(1);
    } finally {
      await limited.close();
      await down.close();
    }
  });

  it('retries network errors and then throws BosunNetworkError', async () => {
    const port = await closedPort();
    const c = new BosunClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'k',
      retries: 2,
      retryBaseMs: 1,
    });
    const err = await c.principal().catch((e) => e);
    expect(err).toBeInstanceOf(BosunNetworkError);
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  it('covers every endpoint: types, schemas, instances, commits, releases, devices, deployments', async () => {
    const type = await client.configTypes.create({ name: 'Mobility', slug: 'mobility' });
    expect(await client.configTypes.get(type.id)).toEqual(type);
    const renamed = await client.configTypes.update(type.id, { name: 'Mobility base' });
    expect(renamed.name).toBe('Mobility base');
    expect((await client.configTypes.listAll({ slug: 'mobility' })).map((x) => x.id)).toEqual([type.id]);

    const commit = await client.gitCommits.create({
      sha: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0',
      message: 'Tune speeds',
      origin: 'git@github.com:acme/robot-configs.git',
    });
    expect(commit.repository_name).toBe('robot-configs');
    expect((await client.gitCommits.get(commit.id)).sha).toBe(commit.sha);
    expect((await client.gitCommits.listAll({ sha: commit.sha })).map((c) => c.id)).toEqual([commit.id]);

    const schemaText = fixture('schemas/mobility.schema.json');
    const schema1 = await client.configSchemas.create({
      config_type_ref: { slug: 'mobility' },
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'mobility.schema.json', data: schemaText }],
      git_commit: { commit_ref: { id: commit.id }, schema_filepaths: ['schemas/mobility.schema.json'] },
    });
    const withDocs = await client.configSchemas.get(schema1.id, { expand: ['documents'] });
    expect(withDocs.documents?.[0]?.data).toBe(schemaText);
    const schema2 = await client.configSchemas.create({
      config_type_ref: { id: type.id },
      language: 'jsonschema',
      format: 'json',
      instance_filepath: '/srv/bosun/configs/mobility-v2.json',
      documents: [{ name: 'mobility.schema.json', data: schemaText }],
    });
    expect(schema2.id).not.toBe(schema1.id);
    expect((await client.configSchemas.listAll({ config_type_id: type.id })).map((s) => s.id).sort()).toEqual(
      [schema1.id, schema2.id].sort(),
    );

    const content = fixture('instances/mobility.valid-tugger.json');
    const i1 = await client.configInstances.create({
      config_schema_id: schema1.id,
      content: { format: 'json', data: content },
    });
    const i2 = await client.configInstances.create({
      config_schema_id: schema2.id,
      content: { format: 'json', data: content },
    });
    expect(await client.configInstances.content(i1.id)).toBe(content);
    expect((await client.configInstances.get(i1.id, { expand: ['content'] })).content?.data).toBe(content);
    expect((await client.configInstances.listAll({ config_schema_id: schema2.id })).map((i) => i.id)).toEqual(
      [i2.id],
    );
    const invalid = await client.configInstances
      .create({
        config_schema_id: schema1.id,
        content: { format: 'json', data: fixture('instances/mobility.invalid-overspeed.json') },
      })
      .catch((e) => e);
    expect(invalid).toBeInstanceOf(BosunApiError);
    expect(invalid.status).toBe(422);

    const v1 = await client.releases.create({
      version: 'v1.0.0',
      config_schema_ids: [schema1.id],
      git_commit_ref: { sha: commit.sha },
    });
    const v2 = await client.releases.create({ version: 'v2.0.0', config_schema_ids: [schema2.id] });
    expect(v1.git_commit_id).toBe(commit.id);
    expect((await client.releases.get(v1.id, { expand: ['config_schemas'] })).config_schemas?.[0]?.id).toBe(
      schema1.id,
    );
    expect((await client.releases.listAll({ version: '2.0.0' })).map((r) => r.id)).toEqual([v2.id]);

    const device = await client.devices.create({ name: 'sdk-robot' });
    expect((await client.devices.update(device.id, { name: 'sdk-robot-1' })).name).toBe('sdk-robot-1');
    const token = await client.devices.createActivationToken(device.id, { allow_reactivation: false });
    expect(token.token).toBeTruthy();
    expect(Date.parse(token.expires_at)).toBeGreaterThan(Date.now());
    const ping = await client.devices.ping(device.id, { timeout_nanos: 50_000_000 });
    expect(ping.code).toBe('timeout');

    const a = await client.deployments.create({
      device_id: device.id,
      release_id: v1.id,
      config_instance_ids: [i1.id],
      description: 'first',
      target_status: 'deployed',
    });
    expect(a.status).toBe('queued');
    const b = await client.deployments.create({
      device_id: device.id,
      release_id: v2.id,
      config_instance_ids: [i2.id],
      description: 'upgrade',
      target_status: 'staged',
    });
    expect(b.status).toBe('staged');
    const c = await client.deployments.create({
      device_id: device.id,
      release_id: v1.id,
      config_instance_ids: [i1.id],
      description: 'patch',
      target_status: 'deployed',
      parent_id: a.id,
    });
    expect((await client.deployments.get(b.id)).status).toBe('drifted');
    expect((await client.deployments.drifts(b.id)).data.map((d) => d.id)).toEqual([c.id]);
    expect((await client.deployments.restage(b.id)).status).toBe('staged');
    expect((await client.deployments.deploy(b.id)).status).toBe('queued');
    const e = await client.deployments.create({
      device_id: device.id,
      release_id: v1.id,
      config_instance_ids: [i1.id],
      description: 'staged then archived',
      target_status: 'staged',
    });
    expect((await client.deployments.archive(e.id)).status).toBe('archived');
    const deviceDeployments = await client.deployments.listAll({ device_id: device.id });
    expect(deviceDeployments.map((d) => d.id).sort()).toEqual([a.id, b.id, c.id, e.id].sort());
    expect(
      (await client.deployments.get(c.id, { expand: ['config_instances'] })).config_instances?.[0]?.id,
    ).toBe(i1.id);
    const events = await collect(client.deployments.iterateEvents(b.id));
    expect(events.map((ev) => ev.to.status)).toEqual(['staged', 'drifted', 'staged', 'queued']);
    expect((await client.deployments.events(b.id, { limit: 1 })).data).toHaveLength(1);

    const conflict = await client.deployments.archive(a.id).catch((err) => err);
    expect(conflict).toBeInstanceOf(BosunApiError);
    expect(conflict.status).toBe(409);
  });
});
