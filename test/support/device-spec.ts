import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { parse } from 'yaml';
import { toJsonSchema, VENDORED_SPECS_DIR } from './reference-spec.ts';

/**
 * Validates Device API answers against the component schemas of the reference Device API v0.2.1
 * spec, vendored as test data in `test/vendor/miru-openapi/`. Reuses the OpenAPI → JSON
 * Schema conversion of reference-spec.ts; only the `$ref` base differs.
 */
const PLATFORM_ID = 'urn:bosun:reference-platform-api';
const DEVICE_ID = 'urn:bosun:reference-device-api';

let ajv: Ajv2020 | undefined;

function load(): Ajv2020 {
  if (ajv) return ajv;
  const spec = parse(readFileSync(join(VENDORED_SPECS_DIR, 'device-api-v0.2.1.yaml'), 'utf8'));
  const rebase = (s: unknown) => JSON.parse(JSON.stringify(s).replaceAll(PLATFORM_ID, DEVICE_ID));
  const defs: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(spec.components.schemas))
    defs[name] = rebase(toJsonSchema(s, true, true));
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ((formatsPlugin as any).default ?? formatsPlugin)(ajv);
  for (const f of ['int32', 'int64', 'float', 'double']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: DEVICE_ID, $defs: defs });
  return ajv;
}

/** Throws unless `body` matches component schema `name` of the Device API spec (no extra fields). */
export function expectDeviceSchema(name: string, body: unknown): void {
  const validate = load().compile({
    allOf: [{ $ref: `${DEVICE_ID}#/$defs/${name}` }],
    unevaluatedProperties: false,
  });
  if (validate(body)) return;
  const errors = (validate.errors ?? []).map((e) => `  ${e.instancePath || '/'} ${e.message}`).join('\n');
  throw new Error(`Body does not match Device API schema ${name}:\n${errors}\nbody: ${JSON.stringify(body)}`);
}
