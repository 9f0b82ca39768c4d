import { BosunError } from '../errors.ts';

/**
 * The one-shot deploy (`bosun deploy --device D --release R --set TYPE=FILE…`, docs/decisions.md
 * #53) as a pure plan: which instance fills each schema of the release, and which tetons calls
 * make the deployment. Decided before anything is created, so a wrong request changes nothing.
 *
 * - A config type given with `--set` gets a new (or an identical existing) instance of the release's
 *   schema for that type.
 * - Every other schema of the release is carried over from the device's current deployment when that
 *   deployment holds an instance of exactly that schema (an instance belongs to one schema; a release
 *   with a new schema for the type needs new content).
 * - How: the current release (a patch) or a device without a current deployment → create `deployed`;
 *   another release → create `staged`, then `/deploy` (tetons deploys an upgrade through the staging
 *   area); `--stage` → create `staged` only, refused for the current release (409
 *   `release_is_current`, as the server would). The current deployment, if any, is the parent.
 */

export interface PlanSchema {
  id: string;
  config_type_id: string;
  config_type_slug: string;
}

export interface DeployPlanInput {
  release: { id: string; schemas: readonly PlanSchema[] };
  /** Config type slugs given new content (`--set slug=file`), in the order given. */
  sets: readonly string[];
  /** The device's current deployment (target `deployed`), or null. */
  current: {
    id: string;
    release_id: string;
    instances: readonly { id: string; config_schema_id: string }[];
  } | null;
  stage: boolean;
}

export type PlanSource = { set: string } | { carry: string };

export interface DeployPlan {
  /** One entry per schema of the release, in the release's order. */
  items: { config_schema_id: string; config_type_slug: string; source: PlanSource }[];
  /** `deploy`: create deployed; `stage`: create staged; `stage_then_deploy`: create staged, then /deploy. */
  mode: 'deploy' | 'stage' | 'stage_then_deploy';
  parent_id: string | null;
}

export function planDeploy(input: DeployPlanInput): DeployPlan {
  const { release, sets, current, stage } = input;
  const bySlug = new Map(release.schemas.map((s) => [s.config_type_slug, s]));
  const notInRelease = [...new Set(sets.filter((slug) => !bySlug.has(slug)))];
  const duplicated = [...new Set(sets.filter((slug, i) => sets.indexOf(slug) !== i))];
  const carried = new Map((current?.instances ?? []).map((i) => [i.config_schema_id, i.id]));
  const items: DeployPlan['items'] = [];
  const missing: { config_type_slug: string; config_schema_id: string }[] = [];
  for (const schema of release.schemas) {
    const slug = schema.config_type_slug;
    const carry = carried.get(schema.id);
    if (sets.includes(slug))
      items.push({ config_schema_id: schema.id, config_type_slug: slug, source: { set: slug } });
    else if (carry !== undefined)
      items.push({ config_schema_id: schema.id, config_type_slug: slug, source: { carry } });
    else missing.push({ config_type_slug: slug, config_schema_id: schema.id });
  }
  if (notInRelease.length || duplicated.length || missing.length) {
    const parts: string[] = [];
    if (notInRelease.length)
      parts.push(
        `no schema of the release is for config type ${notInRelease.join(', ')} (its config types: ${release.schemas.map((s) => s.config_type_slug).join(', ')})`,
      );
    if (duplicated.length) parts.push(`config type ${duplicated.join(', ')} is set more than once`);
    if (missing.length)
      parts.push(
        `nothing to carry over for ${missing.map((m) => m.config_type_slug).join(', ')} (${current ? "the current deployment has no instance of the release's schema" : 'the device has no current deployment'}): give --set ${missing[0]!.config_type_slug}=FILE`,
      );
    throw new BosunError(422, 'invalid_deploy_plan', `Cannot deploy: ${parts.join('; ')}.`, {
      not_in_release: notInRelease,
      duplicated,
      missing,
    });
  }
  const isCurrent = current !== null && current.release_id === release.id;
  if (stage && isCurrent) {
    throw new BosunError(
      409,
      'release_is_current',
      'The release is the current release of the device: a change to it is deployed directly (without --stage).',
      { release_id: release.id, current_deployment_id: current.id },
    );
  }
  const mode = stage ? 'stage' : current === null || isCurrent ? 'deploy' : 'stage_then_deploy';
  return { items, mode, parent_id: current?.id ?? null };
}

/** Whether the planned set (ids in release order) is exactly the current deployment: nothing to do. */
export function deployPlanIsNoop(
  current: DeployPlanInput['current'],
  releaseId: string,
  instanceIds: readonly string[],
): boolean {
  if (!current || current.release_id !== releaseId) return false;
  const have = new Set(current.instances.map((i) => i.id));
  return have.size === instanceIds.length && instanceIds.every((id) => have.has(id));
}
