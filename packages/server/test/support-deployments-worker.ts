/**
 * A second process acting on the same SQLite file: `node --import tsx support-deployments-worker.ts
 * <dataDir> <world JSON> <seed>` runs 25 mixed lifecycle calls on the world's device and prints how
 * each ended (ok, or the 4xx status of a refusal). Any other error fails the process.
 */
import { BosunError } from '@bosun/core';
import { openStore } from '../src/db/database.ts';
import { DeploymentStore } from '../src/storage/deployments.ts';
import type { DeploymentWorld } from './support-deployments.ts';

const [dataDir, worldJson, seedText] = process.argv.slice(2);
const w = JSON.parse(worldJson!) as DeploymentWorld & { extraReleases: string[] };
const seed = Number(seedText);
const store = await openStore({ dataDir: dataDir! });
const deployments = new DeploymentStore(store.db);
const actor = { type: 'api_key' as const, id: `api_key_worker_${seed}` };
const releases = [w.v2, ...w.extraReleases];
const outcomes: string[] = [];
await Promise.all(
  Array.from({ length: 25 }, async (_, k) => {
    const i = k + seed * 25;
    try {
      const mine = await store.db
        .selectFrom('deployments')
        .select('id')
        .where('device_id', '=', w.device)
        .execute();
      const pick = mine[(i * 7) % mine.length]!.id;
      switch (i % 5) {
        case 0:
        case 1:
          await deployments.create(
            {
              target_status: 'staged',
              description: `worker ${seed}`,
              release_id: releases[i % releases.length]!,
              device_id: w.device,
              config_instance_ids: [w.I3, w.I2],
            },
            actor,
          );
          break;
        case 2:
          await deployments.create(
            {
              target_status: 'deployed',
              description: `worker ${seed}`,
              release_id: w.v1,
              device_id: w.device,
              config_instance_ids: [i % 2 ? w.I1 : w.I4, w.I2],
            },
            actor,
          );
          break;
        case 3:
          await deployments.deploy(pick, actor);
          break;
        default:
          await deployments.archive(pick, actor);
      }
      outcomes.push('ok');
    } catch (err) {
      if (!(err instanceof BosunError)) throw err;
      outcomes.push(String(err.status));
    }
  }),
);
await store.close();
process.stdout.write(JSON.stringify(outcomes));
