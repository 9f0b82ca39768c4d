import { type AgentStep, afterFailure, agentStep, type FilesOnDisk, type RetryPolicy } from '@bosun/core';
import type { Logger } from 'pino';
import { ApplyError, type FileApplier, type FileWrite, type Ledger } from './applier.ts';
import { type AgentDeployment, type DesiredState, HttpError, NetworkError } from './client.ts';
import type { ContentCache } from './content-cache.ts';
import { errorMessage } from './errors.ts';
import { filesInPlace, keptWhole } from './handover.ts';
import type { Announcer } from './local-api/announcer.ts';
import type { Outbox } from './outbox.ts';
import type { AgentStore } from './store.ts';

export interface ReconcilerDeps {
  applier: FileApplier;
  store: AgentStore;
  outbox: Outbox;
  cache: ContentCache;
  announcer: Announcer;
  policy: RetryPolicy;
  logger: Logger;
  stopped: () => boolean;
}

/**
 * How a pass went: `blocked` when the network stopped a download (the deployment waits to retry);
 * `failed` when a deployment was just reported failed (the server may answer with a rollback, so the
 * desired state is worth fetching again at once).
 */
export interface ActOutcome {
  blocked: boolean;
  failed: boolean;
}

/**
 * One pass over the desired state, one deployment at a time: core's `agentStep` (the decision table
 * of docs/decisions.md #28 refined by the ledger) says per deployment what to do with its files and
 * which report to send; this class does it through the journal and the outbox. A deployment that fails
 * is recorded in the store and retried later; it never stops the pass.
 */
export class Reconciler {
  /** Set when this pass reported a deployment failed. */
  private reportedFailure = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  async act(desired: DesiredState, fresh: boolean): Promise<ActOutcome> {
    const { applier, outbox, announcer, logger, stopped } = this.deps;
    const outcome: ActOutcome = { blocked: false, failed: false };
    this.reportedFailure = false;
    const ledger = await applier.ledger();
    const steps = new Map(
      desired.deployments.map((d) => [d.id, agentStep(stateOf(d), diskOf(ledger[d.id], d))]),
    );
    const step = (id: string): AgentStep | undefined => steps.get(id);
    // On disk but no longer wanted: the step removes it, or a fresh desired state no longer lists it.
    const leaving = Object.keys(ledger).filter((id) => {
      const s = step(id);
      return s ? s.files === 'remove' : fresh;
    });
    const wanted = desired.deployments.filter((d) => {
      const s = step(d.id)!;
      return (
        s.files === 'write' || (s.files === 'keep' && s.report !== 'archived' && ledger[d.id] !== undefined)
      );
    });
    for (const d of wanted) {
      if (stopped()) return outcome;
      const s = step(d.id)!;
      if (s.files === 'keep') {
        // Also covers a crash between the apply's commit and its event: announced once, here.
        announcer.announce('deployment.deployed', d.id);
        if (s.report === 'deployed' && !outbox.pending(d.id, 'deployed'))
          await outbox.report(d.id, { activity_status: 'deployed' });
        continue;
      }
      if (await this.write(d, ledger, leaving, step)) outcome.blocked = true;
    }
    const keep = new Set(wanted.flatMap((d) => d.config_instances.map((i) => i.filepath)));
    const now = await applier.ledger();
    // While a replacement is still retrying, the robot keeps running on the old files: they are
    // removed (and the old deployment reported archived) in the same transaction that writes the new
    // ones, or here once no replacement is pending any more (it succeeded elsewhere). A replacement
    // that failed holds them too: the server answers with a rollback deployment that takes them over
    // (docs/decisions.md #21); only once the failed one has left the desired state are they removed.
    const pending = wanted.filter((d) => !now[d.id]);
    const holding = pending.length > 0 && leaving.some((id) => now[id]);
    if (holding) {
      logger.info(
        { waiting_for: pending.map((d) => d.id), keeping: leaving.filter((id) => now[id]) },
        'keeping the files of superseded deployments until their replacement is applied',
      );
    }
    for (const id of holding ? [] : leaving) {
      if (stopped() || !now[id]) continue;
      const paths = Object.keys(now[id]).filter((p) => !keep.has(p));
      try {
        await applier.apply({ writes: [], deletes: paths, ledger: { remove: [id] } });
        logger.info({ deployment_id: id, removed: paths }, 'deployment archived');
        announcer.announce('deployment.removed', id);
      } catch (err) {
        logger.error({ deployment_id: id, err: errorMessage(err) }, 'removing files failed');
        continue;
      }
      if (step(id)?.report === 'archived') await outbox.report(id, { activity_status: 'archived' });
    }
    // Superseded before it ever reached the disk: nothing to remove, only the status to settle.
    const after = await applier.ledger();
    for (const d of desired.deployments) {
      if (step(d.id)?.report !== 'archived' || after[d.id]) continue;
      if (!outbox.pending(d.id, 'archived')) await outbox.report(d.id, { activity_status: 'archived' });
    }
    if (fresh) await this.forget(desired);
    outcome.failed = this.reportedFailure;
    return outcome;
  }

  /** Writes one deployment (and removes the files it replaces) in one transaction; true when the network blocked it. */
  private async write(
    d: AgentDeployment,
    ledger: Ledger,
    leaving: string[],
    step: (id: string) => AgentStep | undefined,
  ): Promise<boolean> {
    const { applier, store, outbox, cache, announcer, logger } = this.deps;
    const want = wantedFiles(d);
    const retry = store.retryOf(d.id);
    if (retry?.error === 'failed') return false;
    if (retry?.retry_at && retry.retry_at > Date.now()) return false;
    try {
      const writes: FileWrite[] = [];
      // Files already in place (a rollback or redeploy of the set on disk) are taken over, not rewritten.
      const inPlace = await filesInPlace(want, ledger, (p) => applier.resolve(p));
      for (const instance of inPlace ? [] : d.config_instances) {
        const content = await cache.get(instance.id, instance.content_digest);
        writes.push({ path: instance.filepath, content, digest: instance.content_digest });
      }
      const removing = leaving.filter((id) => ledger[id]);
      const deletes = removing.flatMap((id) => Object.keys(ledger[id]!)).filter((p) => !(p in want));
      await applier.apply({ writes, deletes, ledger: { set: { [d.id]: want }, remove: removing } });
      logger.info(
        {
          deployment_id: d.id,
          release_version: d.release_version,
          files: Object.keys(want),
          written: writes.length,
          replaced: removing,
        },
        'deployment applied',
      );
      for (const id of removing)
        if (!keptWhole(ledger[id]!, want)) announcer.announce('deployment.removed', id);
      announcer.announce('deployment.deployed', d.id);
      await store.clearRetry(d.id);
      for (const id of removing) {
        if (step(id)?.report === 'archived') await outbox.report(id, { activity_status: 'archived' });
      }
      await outbox.report(d.id, { activity_status: 'deployed' });
      return false;
    } catch (err) {
      await this.failed(d, err);
      return err instanceof NetworkError;
    }
  }

  private async failed(d: AgentDeployment, err: unknown): Promise<void> {
    const { store, outbox, policy, logger } = this.deps;
    if (!(err instanceof ApplyError || err instanceof HttpError || err instanceof NetworkError)) {
      // A bug or an unexpected system error still counts: the deployment must not retry forever.
      logger.error({ deployment_id: d.id, err: String(err) }, 'unexpected apply error');
    }
    const network = err instanceof NetworkError;
    const previous = store.retryOf(d.id)?.attempts ?? d.attempts ?? 0;
    const outcome = afterFailure(previous, network, policy);
    const message = errorMessage(err);
    if (outcome.error_status === 'failed') {
      await store.setRetry(d.id, { attempts: outcome.attempts, error: 'failed', message, retry_at: null });
      logger.error({ deployment_id: d.id, attempts: outcome.attempts, err: message }, 'deployment failed');
      await outbox.report(d.id, { error_status: 'failed', message, attempts: outcome.attempts });
      this.reportedFailure = true;
      return;
    }
    await store.setRetry(d.id, {
      attempts: outcome.attempts,
      error: 'retrying',
      message,
      retry_at: Date.now() + outcome.retryInMs,
    });
    logger.warn(
      { deployment_id: d.id, attempts: outcome.attempts, retry_in_ms: outcome.retryInMs, err: message },
      'deployment retrying',
    );
    if (!network)
      await outbox.report(d.id, { error_status: 'retrying', message, attempts: outcome.attempts });
  }

  /** Drops retry records and cached contents nothing refers to any more. */
  private async forget(desired: DesiredState): Promise<void> {
    const { applier, store, cache } = this.deps;
    await store.forgetRetriesExcept(new Set(desired.deployments.map((d) => d.id)));
    const ledger = await applier.ledger();
    await cache.prune(
      new Set([
        ...Object.values(ledger).flatMap((files) => Object.values(files)),
        ...desired.deployments.flatMap((d) => d.config_instances.map((i) => i.content_digest)),
      ]),
    );
  }
}

const stateOf = (d: AgentDeployment) => ({
  target: d.target_status,
  activity: d.activity_status,
  error: d.error_status,
});

const wantedFiles = (d: AgentDeployment): Record<string, string> =>
  Object.fromEntries(d.config_instances.map((i) => [i.filepath, i.content_digest]));

/** What the ledger holds of a deployment, compared with the files it wants. */
function diskOf(have: Record<string, string> | undefined, d: AgentDeployment): FilesOnDisk {
  if (!have) return 'absent';
  const want = wantedFiles(d);
  const keys = Object.keys(have);
  return keys.length === Object.keys(want).length && keys.every((k) => have[k] === want[k])
    ? 'current'
    : 'other';
}
