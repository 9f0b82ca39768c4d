import { example, exampleSchemaSource } from './robot-configs.ts';
import type { TestServer } from './server.ts';

/**
 * A release with one schema and valid instances, built through the platform API, and deployments
 * created through the deployment storage (the lifecycle rules of core run exactly as for the API).
 */
export const MOBILITY = example('instances/mobility.valid-tugger.json');

export interface TestRelease {
  releaseId: string;
  version: string;
  schemaId: string;
  typeName: string;
  filepath: string;
}

async function ok(t: TestServer, method: string, path: string, body: unknown) {
  const res = await t.api(method, path, { body });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

export async function createRelease(t: TestServer): Promise<TestRelease> {
  const n = `mobility-${Math.random().toString(36).slice(2, 10)}`;
  const type = await ok(t, 'POST', 'config_types', { name: n, slug: n });
  const schema = await ok(t, 'POST', 'config_schemas', {
    config_type_ref: { id: type.id },
    ...exampleSchemaSource('mobility'),
  });
  const version = `v1.${Math.floor(Math.random() * 1e6)}.${Math.floor(Math.random() * 1e6)}`;
  const release = await ok(t, 'POST', 'releases', { version, config_schema_ids: [schema.id] });
  return {
    releaseId: release.id,
    version: release.version,
    schemaId: schema.id,
    typeName: n,
    filepath: schema.instance_filepath,
  };
}

/** A config instance of the release's schema; `data` defaults to the valid mobility example. */
export async function createInstance(
  t: TestServer,
  r: TestRelease,
  data = MOBILITY,
): Promise<{ id: string }> {
  return ok(t, 'POST', 'config_instances', {
    config_schema_id: r.schemaId,
    content: { format: 'json', data },
  });
}

export async function createDeployment(
  t: TestServer,
  input: { deviceId: string; release: TestRelease; instanceId: string; target?: 'deployed' | 'staged' },
): Promise<{ id: string; description: string; created_at: string }> {
  return t.server.app.repos.deployments.create(
    {
      target_status: input.target ?? 'deployed',
      description: 'test',
      release_id: input.release.releaseId,
      device_id: input.deviceId,
      config_instance_ids: [input.instanceId],
    },
    { type: 'system' },
  );
}
