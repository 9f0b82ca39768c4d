import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { WebhookStore } from '../storage/webhooks.ts';

export interface PruneOptions {
  /** Events and delivered deliveries older than this go; 0 keeps everything. */
  retentionMs: number;
  /** Rows per transaction. */
  batch: number;
}

/**
 * Prunes the event outbox (docs/decisions.md #89): batch after batch, each its own short
 * transaction, yielding to the event loop between them so requests (and, on SQLite, their single
 * connection) are never held for longer than one batch. Returns what it removed and in how many
 * batches. `stopping` ends the pass between batches (server shutdown).
 */
export async function pruneOutbox(
  store: WebhookStore,
  opts: PruneOptions,
  stopping: () => boolean = () => false,
  now = Date.now(),
): Promise<{ deliveries: number; events: number; batches: number }> {
  const out = { deliveries: 0, events: 0, batches: 0 };
  if (!(opts.retentionMs > 0)) return out;
  const before = new Date(now - opts.retentionMs).toISOString();
  while (!stopping()) {
    const r = await store.pruneBatch(before, opts.batch);
    if (!r.deliveries && !r.events) break;
    out.deliveries += r.deliveries;
    out.events += r.events;
    out.batches++;
    await yieldToRequests();
  }
  return out;
}
