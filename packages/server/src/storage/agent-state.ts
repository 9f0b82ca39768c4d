import { type AgentConfigInstance, type AgentDeployment, onAgentAgenda } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { type DeploymentRow, stateOf } from './deployments.ts';

export type { AgentDeployment };

/**
 * The agent's read model: every query takes the device id from the caller's access token and filters
 * by it, so one device can never read another's deployments or content. It only reads: reports (with
 * the report-id ledger) go through `DeploymentStore.agentReport`, which reads the answer through
 * `deployment(…, tx)` inside its transaction.
 */
export class AgentStateStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The deployments the agent must act on or keep, oldest first, with their config instances. */
  async deployments(deviceId: string): Promise<AgentDeployment[]> {
    const rows = await this.selectDeployments()
      .where('d.device_id', '=', deviceId)
      .where('d.activity_status', 'in', ['queued', 'deployed'])
      .where('d.error_status', '!=', 'failed')
      .orderBy('d.created_at')
      .orderBy('d.id')
      .execute();
    const visible = rows.filter((r) => onAgentAgenda(stateOf(r)));
    const instances = await this.instances(visible.map((r) => r.id));
    return visible.map((r) => toAgentDeployment(r, instances.get(r.id) ?? []));
  }

  /** One deployment of this device in the agent's shape (whatever its state), or undefined. */
  async deployment(
    deviceId: string,
    deploymentId: string,
    db: Kysely<Database> = this.db,
  ): Promise<AgentDeployment | undefined> {
    const r = await this.selectDeployments(db)
      .where('d.device_id', '=', deviceId)
      .where('d.id', '=', deploymentId)
      .executeTakeFirst();
    if (!r) return undefined;
    const instances = await this.instances([r.id], db);
    return toAgentDeployment(r, instances.get(r.id) ?? []);
  }

  private selectDeployments(db: Kysely<Database> = this.db) {
    return db
      .selectFrom('deployments as d')
      .innerJoin('releases as r', 'r.id', 'd.release_id')
      .leftJoin('git_commits as g', 'g.id', 'r.git_commit_id')
      .select([
        'd.id',
        'd.description',
        'd.created_at',
        'd.release_id',
        'r.version as release_version',
        'r.git_commit_id',
        'r.created_at as release_created_at',
        'g.sha as git_sha',
        'g.message as git_message',
        'g.commit_url as git_commit_url',
        'g.created_at as git_created_at',
        'd.target_status',
        'd.activity_status',
        'd.error_status',
        'd.attempts',
      ]);
  }

  /** The bytes of a config instance, only when one of this device's deployments references it. */
  async content(
    deviceId: string,
    instanceId: string,
  ): Promise<{ data: string; format: string; content_digest: string } | undefined> {
    return this.db
      .selectFrom('config_instances as c')
      .select(['c.data', 'c.format', 'c.content_digest'])
      .where('c.id', '=', instanceId)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('deployment_instances as di')
            .innerJoin('deployments as d', 'd.id', 'di.deployment_id')
            .select('di.deployment_id')
            .whereRef('di.config_instance_id', '=', 'c.id')
            .where('d.device_id', '=', deviceId),
        ),
      )
      .executeTakeFirst();
  }

  private async instances(
    deploymentIds: string[],
    db: Kysely<Database> = this.db,
  ): Promise<Map<string, AgentConfigInstance[]>> {
    const out = new Map<string, AgentConfigInstance[]>();
    if (!deploymentIds.length) return out;
    const rows = await db
      .selectFrom('deployment_instances as di')
      .innerJoin('config_instances as c', 'c.id', 'di.config_instance_id')
      .innerJoin('config_types as t', 't.id', 'c.config_type_id')
      .select([
        'di.deployment_id',
        'c.id',
        'c.filepath',
        'c.content_digest',
        't.name as config_type_name',
        'c.config_schema_id',
      ])
      .where('di.deployment_id', 'in', deploymentIds)
      .orderBy('di.deployment_id')
      .orderBy('di.position')
      .execute();
    for (const r of rows) {
      const list = out.get(r.deployment_id) ?? [];
      list.push({
        id: r.id,
        filepath: r.filepath,
        // `sha256:<hex>` of the exact bytes the content endpoint serves (set when the instance was created).
        content_digest: r.content_digest,
        config_type_name: r.config_type_name,
        config_schema_id: r.config_schema_id,
      });
      out.set(r.deployment_id, list);
    }
    return out;
  }
}

type DeploymentSelection = {
  id: string;
  description: string;
  created_at: string;
  release_id: string;
  release_version: string;
  git_commit_id: string | null;
  release_created_at: string;
  git_sha: string | null;
  git_message: string | null;
  git_commit_url: string | null;
  git_created_at: string | null;
  target_status: DeploymentRow['target_status'];
  activity_status: DeploymentRow['activity_status'];
  error_status: DeploymentRow['error_status'];
  attempts: number | string;
};

function toAgentDeployment(r: DeploymentSelection, configInstances: AgentConfigInstance[]): AgentDeployment {
  return {
    id: r.id,
    description: r.description,
    created_at: r.created_at,
    release_id: r.release_id,
    release_version: r.release_version,
    release: {
      id: r.release_id,
      version: r.release_version,
      git_commit_id: r.git_commit_id,
      created_at: r.release_created_at,
    },
    git_commit:
      r.git_commit_id && r.git_sha
        ? {
            id: r.git_commit_id,
            sha: r.git_sha,
            message: r.git_message ?? '',
            commit_url: r.git_commit_url ?? '',
            created_at: r.git_created_at ?? r.release_created_at,
          }
        : null,
    target_status: r.target_status,
    activity_status: r.activity_status,
    error_status: r.error_status,
    attempts: Number(r.attempts),
    config_instances: configInstances,
  };
}
