import { exampleSchemaSource } from '../../../test/support/robot-configs.ts';
import type { TestServer } from '../../../test/support/server.ts';

/** The example robot configs of `examples/robot-configs/` (see test/support/robot-configs.ts). */
export { EXAMPLES as FIXTURES, example as fixture } from '../../../test/support/robot-configs.ts';

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
  ...exampleSchemaSource('mobility'),
  ...extra,
});

export const perceptionSchemaBody = (typeId: string, extra: Record<string, unknown> = {}) => ({
  config_type_ref: { id: typeId },
  ...exampleSchemaSource('perception'),
  ...extra,
});

export const safetySchemaBody = (typeId: string, extra: Record<string, unknown> = {}) => ({
  config_type_ref: { id: typeId },
  ...exampleSchemaSource('safety'),
  ...extra,
});

export async function createSchema(t: TestServer, body: Record<string, unknown>) {
  const res = await t.api('POST', 'config_schemas', { body });
  if (res.status !== 200) throw new Error(`config schema: ${res.text}`);
  return res.body as { id: string; config_type_id: string; instance_filepath: string; digest: string };
}
