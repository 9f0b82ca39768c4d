import type { GitHostMap } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { AgentStateStore } from './agent-state.ts';
import { ApiKeyStore } from './api-keys.ts';
import { ConfigInstanceStore } from './config-instances.ts';
import { ConfigSchemaStore } from './config-schemas.ts';
import { ConfigTypeStore } from './config-types.ts';
import { DeploymentStore } from './deployments.ts';
import { DeviceIdentityStore } from './device-identity.ts';
import { DeviceStore } from './devices.ts';
import { GitCommitStore } from './git-commits.ts';
import { GroupStore } from './groups.ts';
import { IdempotencyStore } from './idempotency.ts';
import { ReleaseStore } from './releases.ts';
import { RolloutStore } from './rollouts.ts';
import { WebhookStore } from './webhooks.ts';

/** Every repository over one database handle; routes reach storage only through this. */
export function createRepositories(
  db: Kysely<Database>,
  opts: { gitHosts?: GitHostMap; autoRollback?: boolean } = {},
) {
  return {
    agentState: new AgentStateStore(db),
    apiKeys: new ApiKeyStore(db),
    configInstances: new ConfigInstanceStore(db),
    configSchemas: new ConfigSchemaStore(db),
    configTypes: new ConfigTypeStore(db),
    deployments: new DeploymentStore(db, { autoRollback: opts.autoRollback ?? true }),
    devices: new DeviceStore(db),
    deviceIdentity: new DeviceIdentityStore(db),
    gitCommits: new GitCommitStore(db, opts.gitHosts),
    groups: new GroupStore(db),
    idempotencyKeys: new IdempotencyStore(db),
    releases: new ReleaseStore(db),
    webhooks: new WebhookStore(db),
    rollouts: new RolloutStore(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
