import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { ApiKeyStore } from './api-keys.ts';
import { ConfigTypeStore } from './config-types.ts';
import { DeploymentStore } from './deployments.ts';
import { DeviceStore } from './devices.ts';
import { GitCommitStore } from './git-commits.ts';

/** Every repository over one database handle; routes reach storage only through this. */
export function createRepositories(db: Kysely<Database>) {
  return {
    apiKeys: new ApiKeyStore(db),
    configTypes: new ConfigTypeStore(db),
    deployments: new DeploymentStore(db),
    devices: new DeviceStore(db),
    gitCommits: new GitCommitStore(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
