import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, provision } from '@bosun/agent';
import pino from 'pino';
import type { TestServer } from './server.ts';

/** An API call that answers 200 with the body, or throws; each bench chooses retries and headers. */
export type OkCall = (t: TestServer, method: string, path: string, body?: unknown) => Promise<any>;

/** The one-schema release the agent benches deploy: a JSON Schema accepting any object, one instance. */
export async function benchRelease(t: TestServer, ok: OkCall, data: unknown) {
  const type = await ok(t, 'POST', 'config_types', { name: 'Mobility', slug: 'mobility' });
  const schema = await ok(t, 'POST', 'config_schemas', {
    config_type_ref: { id: type.id },
    instance_filepath: '/srv/bosun/configs/mobility.json',
    language: 'jsonschema',
    format: 'json',
    documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
  });
  const release = await ok(t, 'POST', 'releases', { version: '1.0.0', config_schema_ids: [schema.id] });
  const instance = await ok(t, 'POST', 'config_instances', {
    config_schema_id: schema.id,
    content: { format: 'json', data: JSON.stringify(data) },
  });
  return { release, instance };
}

/**
 * `count` devices (`bench-<i>`), each activated and provisioned into its own state dir under
 * `scratch` and given an in-process `Agent` (silent log), not started yet.
 */
export async function benchAgents(t: TestServer, ok: OkCall, count: number, scratch: string) {
  const logger = pino({ level: 'silent' });
  const agents: Agent[] = [];
  const devices: string[] = [];
  for (let i = 0; i < count; i++) {
    const device = await ok(t, 'POST', 'devices', { name: `bench-${i}` });
    const { token } = await ok(t, 'POST', `devices/${device.id}/activation_token`, {});
    const stateDir = join(scratch, `state-${i}`);
    await provision({ server: t.url, token, stateDir });
    // The file-system root must exist: the applier resolves paths inside it (symlink-safe).
    const fsRoot = join(scratch, `root-${i}`);
    mkdirSync(fsRoot, { recursive: true });
    agents.push(new Agent({ stateDir, fsRoot, logger }));
    devices.push(device.id);
  }
  return { agents, devices };
}
