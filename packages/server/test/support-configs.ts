import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestServer } from '../../../test/support/server.ts';

/** The shared robot-config fixtures, read at test time from `shared/` beside the repository. */
export const FIXTURES = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'robot-configs',
);
export const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');

let counter = 0;
/** A config type with a unique slug. */
export async function createType(t: TestServer, base = 'robot') {
  const n = `${base}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
  const res = await t.api('POST', 'config_types', { body: { name: n, slug: n } });
  if (res.status !== 200) throw new Error(`config type: ${res.text}`);
  return res.body as { id: string; slug: string; name: string };
}

export const mobilitySchemaBody = (typeId: string, extra: Record<string, unknown> = {}) => ({
  config_type_ref: { id: typeId },
  language: 'jsonschema',
  format: 'json',
  documents: [{ name: 'mobility.schema.json', data: fixture('schemas/mobility.schema.json') }],
  ...extra,
});

export const perceptionSchemaBody = (typeId: string, extra: Record<string, unknown> = {}) => ({
  config_type_ref: { id: typeId },
  language: 'jsonschema',
  format: 'yaml',
  documents: [{ name: 'perception.schema.yaml', data: fixture('schemas/perception.schema.yaml') }],
  ...extra,
});

export const safetySchemaBody = (typeId: string, extra: Record<string, unknown> = {}) => ({
  config_type_ref: { id: typeId },
  language: 'cue',
  format: 'cue',
  documents: [
    { name: 'limits.cue', data: fixture('schemas/safety/limits.cue') },
    { name: 'zones.cue', data: fixture('schemas/safety/zones.cue') },
  ],
  ...extra,
});

export async function createSchema(t: TestServer, body: Record<string, unknown>) {
  const res = await t.api('POST', 'config_schemas', { body });
  if (res.status !== 200) throw new Error(`config schema: ${res.text}`);
  return res.body as { id: string; config_type_id: string; instance_filepath: string; digest: string };
}
