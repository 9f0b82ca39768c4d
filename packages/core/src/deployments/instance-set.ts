import { unprocessable } from '../errors.ts';

/**
 * The instance-set rule (docs/decisions.md #26): a deployment holds exactly one config instance for
 * each config schema of its release — every id exists, no schema is missing, none appears twice,
 * and no instance belongs to a schema outside the release.
 */

export interface InstanceRef {
  id: string;
  config_schema_id: string;
}

export interface InstanceSetProblems {
  /** Requested ids that name no config instance. */
  unknown: string[];
  /** Schemas of the release with no instance in the request. */
  missing: string[];
  /** Instances whose schema is not part of the release. */
  extra: { config_instance_id: string; config_schema_id: string }[];
  /** Schemas with more than one instance (or one instance listed twice). */
  duplicated: { config_schema_id: string; config_instance_ids: string[] }[];
}

export function instanceSetProblems(
  releaseSchemaIds: readonly string[],
  requestedIds: readonly string[],
  found: readonly InstanceRef[],
): InstanceSetProblems {
  const byId = new Map(found.map((i) => [i.id, i]));
  const inRelease = new Set(releaseSchemaIds);
  const perSchema = new Map<string, string[]>();
  const problems: InstanceSetProblems = { unknown: [], missing: [], extra: [], duplicated: [] };
  for (const id of requestedIds) {
    const instance = byId.get(id);
    if (!instance) {
      if (!problems.unknown.includes(id)) problems.unknown.push(id);
      continue;
    }
    if (!inRelease.has(instance.config_schema_id)) {
      if (!problems.extra.some((e) => e.config_instance_id === id))
        problems.extra.push({ config_instance_id: id, config_schema_id: instance.config_schema_id });
      continue;
    }
    perSchema.set(instance.config_schema_id, [...(perSchema.get(instance.config_schema_id) ?? []), id]);
  }
  for (const schemaId of releaseSchemaIds) {
    const ids = perSchema.get(schemaId);
    if (!ids) problems.missing.push(schemaId);
    else if (ids.length > 1)
      problems.duplicated.push({ config_schema_id: schemaId, config_instance_ids: ids });
  }
  return problems;
}

/**
 * Throws 422 `invalid_config_instances` naming every problem at once (unknown ids, missing schemas,
 * instances outside the release, duplicated schemas) so a client fixes the request in one round.
 * Returns the instance ids in the order of the release's schemas.
 */
export function checkInstanceSet(
  releaseId: string,
  releaseSchemaIds: readonly string[],
  requestedIds: readonly string[],
  found: readonly InstanceRef[],
): string[] {
  const p = instanceSetProblems(releaseSchemaIds, requestedIds, found);
  const parts: string[] = [];
  if (p.unknown.length) parts.push(`no config instance exists with id ${p.unknown.join(', ')}`);
  if (p.missing.length) parts.push(`missing an instance of config schema ${p.missing.join(', ')}`);
  for (const e of p.extra)
    parts.push(
      `${e.config_instance_id} is an instance of ${e.config_schema_id}, which is not in the release`,
    );
  for (const d of p.duplicated)
    parts.push(
      `config schema ${d.config_schema_id} has more than one instance (${d.config_instance_ids.join(', ')})`,
    );
  if (parts.length) {
    throw unprocessable(
      'invalid_config_instances',
      `config_instance_ids must hold exactly one instance for each config schema of release ${releaseId}: ${parts.join('; ')}.`,
      { field: 'config_instance_ids', release_id: releaseId, ...p },
    );
  }
  const schemaOf = new Map(found.map((i) => [i.id, i.config_schema_id]));
  const position = new Map(releaseSchemaIds.map((s, i) => [s, i]));
  return [...requestedIds].sort((a, b) => position.get(schemaOf.get(a)!)! - position.get(schemaOf.get(b)!)!);
}
