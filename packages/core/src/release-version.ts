import { BosunError } from './errors.ts';

/**
 * Release version grammar (docs/decisions.md #29): 1–3 dot-separated non-negative integers without leading
 * zeros, an optional leading `v`, an optional pre-release `-…` and an optional build `+…`.
 */
const VERSION =
  /^v?(0|[1-9]\d*)(\.(0|[1-9]\d*)){0,2}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export const MAX_VERSION_LENGTH = 128;

export function isReleaseVersion(value: string): boolean {
  return value.length <= MAX_VERSION_LENGTH && VERSION.test(value);
}

/** Returns the version as given, or a 400 naming the field and the grammar. */
export function checkReleaseVersion(value: string): string {
  if (!isReleaseVersion(value)) {
    throw new BosunError(
      400,
      'invalid_version',
      `version '${value}' is not a release version: 1 to 3 dot-separated integers without leading zeros, an optional leading 'v', an optional '-pre.release' and '+build' (e.g. v1.2.0, 2.1, 4.3.2-rc.1).`,
      { field: 'version', value },
    );
  }
  return value;
}

/**
 * The uniqueness key of a version: `v1.2.0` and `1.2.0` name the same release, so the leading `v`
 * is dropped. Nothing else is normalised (`1.2` and `1.2.0` stay distinct, as written by people).
 */
export function releaseVersionKey(value: string): string {
  return value.startsWith('v') ? value.slice(1) : value;
}

export interface ReleaseSchemaRef {
  id: string;
  config_type_id: string;
  instance_filepath: string;
}

/**
 * The schema set of a release (docs/decisions.md #29): at least one schema, no schema twice, at most one
 * schema per config type and no two schemas writing the same file. A 422 lists every clash.
 */
export function checkReleaseSchemaSet(schemas: ReleaseSchemaRef[]): void {
  if (schemas.length === 0) {
    throw new BosunError(422, 'invalid_schema_set', 'A release needs at least one config schema.', {
      field: 'config_schema_ids',
    });
  }
  const clashes: { rule: string; value: string; config_schema_ids: string[] }[] = [];
  const group = (rule: string, keyOf: (s: ReleaseSchemaRef) => string) => {
    const by = new Map<string, string[]>();
    for (const s of schemas) by.set(keyOf(s), [...(by.get(keyOf(s)) ?? []), s.id]);
    for (const [value, ids] of by) if (ids.length > 1) clashes.push({ rule, value, config_schema_ids: ids });
  };
  group('one_schema_per_config_type', (s) => s.config_type_id);
  group('distinct_instance_filepaths', (s) => s.instance_filepath);
  if (clashes.length) {
    throw new BosunError(
      422,
      'invalid_schema_set',
      `A release holds at most one schema per config type, and no two schemas may write the same file: ${clashes
        .map(
          (c) =>
            `${c.rule === 'one_schema_per_config_type' ? 'config type' : 'file'} ${c.value} has ${c.config_schema_ids.join(', ')}`,
        )
        .join('; ')}.`,
      { field: 'config_schema_ids', clashes },
    );
  }
}
