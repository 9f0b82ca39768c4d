import { type DriftMode, driftMessage, findDrift } from '@bosun/core';
import type { Logger } from 'pino';
import type { FileApplier, FileWrite } from './applier.ts';
import type { DesiredState } from './client.ts';
import type { ContentCache } from './content-cache.ts';
import { errorMessage } from './errors.ts';
import { fileDigest } from './fsutil.ts';
import type { Outbox } from './outbox.ts';

/**
 * Compares the files of every deployment in the ledger with their digests (core's `findDrift`); in
 * `restore` mode writes the deployed content back through the journal, in `report` mode leaves the
 * files; either way reports the drift, an unchanged drift in report mode only once.
 */
export class DriftWatcher {
  /** The drift last reported per deployment, so an unchanged drift (report-only mode) is not re-sent. */
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly deps: {
      applier: FileApplier;
      cache: ContentCache;
      outbox: Outbox;
      logger: Logger;
      mode: DriftMode;
    },
  ) {}

  async check(desired: DesiredState | undefined, stopped: () => boolean): Promise<void> {
    const { applier, cache, outbox, logger, mode } = this.deps;
    if (stopped()) return;
    const ledger = await applier.ledger();
    for (const [id, files] of Object.entries(ledger)) {
      const d = desired?.deployments.find((x) => x.id === id);
      if (d && d.target_status !== 'deployed') continue; // leaving: its files are about to go
      const onDisk: Record<string, string | null> = {};
      for (const path of Object.keys(files)) onDisk[path] = await fileDigest(applier.resolve(path));
      const drift = findDrift(files, onDisk);
      if (drift.length === 0) {
        this.reported.delete(id);
        continue;
      }
      let restored = mode === 'restore';
      if (restored) {
        try {
          const writes: FileWrite[] = [];
          for (const { path } of drift) {
            const digest = files[path]!;
            const instance = d?.config_instances.find((i) => i.filepath === path);
            const content = instance ? await cache.get(instance.id, digest) : await cache.local(digest);
            if (!content) throw new Error(`no copy of ${path} (${digest}) to restore`);
            writes.push({ path, content, digest });
          }
          await applier.apply({ writes, deletes: [], ledger: { set: { [id]: files } } });
        } catch (err) {
          restored = false;
          logger.error({ deployment_id: id, err: errorMessage(err) }, 'restoring drifted files failed');
        }
      }
      const message = driftMessage(drift, restored ? 'restore' : 'report');
      logger.warn({ deployment_id: id, drift }, message);
      const key = JSON.stringify(drift);
      if (!restored && this.reported.get(id) === key) continue;
      this.reported.set(id, restored ? '' : key);
      await outbox.report(id, { activity_status: 'deployed', message, drift });
    }
  }
}
