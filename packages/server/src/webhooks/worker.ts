import {
  DELIVERY_RETRY,
  type DeliveryRetryPolicy,
  DISABLE_AFTER_FAILED_DELIVERIES,
  isDelivered,
  nextDeliveryAttempt,
} from '@bosun/core';
import type { FastifyBaseLogger } from 'fastify';
import { toIso } from '../db/time.ts';
import type { AttemptOutcome, ClaimedDelivery, WebhookStore } from '../storage/webhooks.ts';
import { toEnvelope } from './events.ts';
import { postSigned } from './send.ts';

export interface WebhookOptions {
  /** Per attempt, the whole exchange (default 10 s). */
  timeoutMs: number;
  /** `BOSUN_WEBHOOKS_ALLOW_PRIVATE=1`. */
  allowPrivate: boolean;
  retry: DeliveryRetryPolicy;
  disableAfter: number;
  /** How long a claimed delivery belongs to this process; must exceed `timeoutMs`. */
  leaseMs: number;
  /** Idle wait between looks for due deliveries. */
  pollMs: number;
  /** Deliveries sent at once by one process. */
  batch: number;
  /** Off: this process sends nothing (another replica does). */
  worker: boolean;
  /** Events and delivered deliveries are pruned after this (`BOSUN_EVENTS_RETENTION_DAYS`, 30; 0 keeps them). */
  retentionMs: number;
  /** How often the outbox is pruned (`BOSUN_EVENTS_PRUNE_INTERVAL_MS`, 10 minutes). */
  pruneIntervalMs: number;
  /** Rows per pruning transaction (`BOSUN_EVENTS_PRUNE_BATCH`, 500). */
  pruneBatch: number;
}

/** Default retention of the event outbox (docs/decisions.md #89). */
export const EVENT_RETENTION_DAYS = 30;

/** `BOSUN_EVENTS_RETENTION_DAYS`: a number of days (fractions allowed), 0 to keep everything. */
export function eventRetentionMs(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return EVENT_RETENTION_DAYS * 86_400_000;
  const days = Number(text);
  if (!Number.isFinite(days) || days < 0)
    throw new Error(
      `BOSUN_EVENTS_RETENTION_DAYS must be a number of days (0 keeps events forever), got '${text}'`,
    );
  return Math.round(days * 86_400_000);
}

/** How long finished attempts wait to be written together. */
const FLUSH_DELAY_MS = 5;

const num = (v: string | undefined, fallback: number) => {
  const n = v === undefined || v === '' ? Number.NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
};

/** Options from the environment (`BOSUN_WEBHOOKS_*`); tests shorten the backoff and the lease. */
export function webhookOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookOptions {
  return {
    timeoutMs: num(env.BOSUN_WEBHOOKS_TIMEOUT_MS, 10_000),
    allowPrivate: env.BOSUN_WEBHOOKS_ALLOW_PRIVATE === '1',
    retry: {
      ...DELIVERY_RETRY,
      baseMs: num(env.BOSUN_WEBHOOKS_BACKOFF_BASE_MS, DELIVERY_RETRY.baseMs),
      minMs: Math.min(
        DELIVERY_RETRY.minMs ?? 0,
        num(env.BOSUN_WEBHOOKS_BACKOFF_BASE_MS, DELIVERY_RETRY.baseMs),
      ),
      windowMs: num(env.BOSUN_WEBHOOKS_RETRY_WINDOW_MS, DELIVERY_RETRY.windowMs),
    },
    disableAfter: num(env.BOSUN_WEBHOOKS_DISABLE_AFTER, DISABLE_AFTER_FAILED_DELIVERIES),
    leaseMs: num(env.BOSUN_WEBHOOKS_LEASE_MS, 60_000),
    pollMs: num(env.BOSUN_WEBHOOKS_POLL_MS, 250),
    batch: num(env.BOSUN_WEBHOOKS_BATCH, 32),
    worker: env.BOSUN_WEBHOOKS_WORKER !== '0',
    retentionMs: eventRetentionMs(env.BOSUN_EVENTS_RETENTION_DAYS),
    pruneIntervalMs: num(env.BOSUN_EVENTS_PRUNE_INTERVAL_MS, 600_000),
    pruneBatch: Math.max(1, num(env.BOSUN_EVENTS_PRUNE_BATCH, 500)),
  };
}

/**
 * Sends due deliveries, keeping up to `batch` in flight: it claims as many as there is room for (with
 * a lease), and each finished attempt joins a queue that is written in one transaction per flush, so
 * a slow receiver holds only its own slot. Safe to run in every replica: claims never overlap while a
 * lease lives, and a dead replica's leases expire (an attempt sent but not yet recorded is sent again).
 */
export class DeliveryWorker {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private inFlight = 0;
  private finished: AttemptOutcome[] = [];
  private flushing: Promise<void> | undefined;
  private readonly settled = new Set<Promise<void>>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: WebhookStore,
    private readonly opts: WebhookOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Look now rather than at the next poll (after an in-process change). */
  kick(): void {
    this.wake?.();
  }

  /**
   * Stops claiming. Deliveries in flight get a moment to finish and be recorded; one still waiting
   * on a slow receiver is abandoned, and its lease expiring hands it to the next process.
   */
  async stop(graceMs = 1_000): Promise<void> {
    this.running = false;
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    const drained = (async () => {
      await this.loop;
      await Promise.all([...this.settled]);
      await this.flush();
    })();
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const room = this.opts.batch - this.inFlight;
      let claimed: ClaimedDelivery[] = [];
      // Claim when a quarter of the slots are free (or nothing is in flight): one claim per few
      // deliveries, not one per delivery.
      if (room > 0 && (this.inFlight === 0 || room >= Math.max(1, this.opts.batch / 4))) {
        try {
          claimed = await this.store.claim(room, this.opts.leaseMs);
        } catch (err) {
          if (this.running)
            this.log.warn({ err: (err as Error).message }, 'claiming webhook deliveries failed');
        }
        for (const c of claimed) this.send(c);
      }
      if ((claimed.length === 0 || this.inFlight > 0) && this.running) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, this.opts.pollMs);
        });
        clearTimeout(timer);
        this.wake = undefined;
      }
    }
  }

  private send(c: ClaimedDelivery): void {
    this.inFlight++;
    const p: Promise<void> = this.deliver(c).then(
      (outcome) => {
        this.inFlight--;
        this.settled.delete(p);
        this.finished.push(outcome);
        this.flushSoon();
      },
      (err) => {
        // Unrecorded: the lease expires and the delivery is sent again.
        this.inFlight--;
        this.settled.delete(p);
        this.log.warn(
          { err: (err as Error).message, delivery_id: c.delivery.id },
          'webhook delivery errored',
        );
      },
    );
    this.settled.add(p);
  }

  /** Coalesces the outcomes of the next few milliseconds into one transaction. */
  private flushSoon(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_DELAY_MS);
  }

  /** Writes every finished attempt so far in one transaction; one flush at a time. */
  private async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      while (this.finished.length) {
        const batch = this.finished.splice(0);
        try {
          await this.store.finishAttempts(batch, this.opts.disableAfter);
        } catch (err) {
          // Not recorded: the leases expire and these deliveries are sent again (at least once).
          this.log.warn({ err: (err as Error).message }, 'recording webhook attempts failed');
        }
        for (const o of batch) {
          if (o.outcome.kind === 'failed') {
            this.log.warn(
              { delivery_id: o.delivery.id, endpoint_id: o.delivery.endpoint_id },
              'webhook delivery failed for good',
            );
          }
        }
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
    // Outcomes that arrived while the last transaction was committing.
    if (this.finished.length) await this.flush();
    this.kick();
  }

  private async deliver({ delivery, endpoint, event }: ClaimedDelivery): Promise<AttemptOutcome> {
    const startedAt = toIso(new Date());
    const body = JSON.stringify(toEnvelope(event));
    // The event id is the webhook-id: every attempt and every redelivery of one event to one endpoint
    // carries the same id, so receivers deduplicate by it.
    const result = await postSigned(endpoint.url, event.id, body, endpoint.secrets, this.opts);
    const attempts = delivery.attempts + 1;
    const first = Date.parse(delivery.first_attempt_at ?? startedAt);
    const next = isDelivered(result.status)
      ? null
      : nextDeliveryAttempt(attempts, first, Date.now(), this.opts.retry);
    const outcome = isDelivered(result.status)
      ? ({ kind: 'delivered' } as const)
      : next
        ? ({ kind: 'retry', at: toIso(new Date(next.at)), delayMs: next.delayMs } as const)
        : ({ kind: 'failed' } as const);
    return {
      delivery,
      startedAt,
      statusCode: result.status,
      latencyMs: result.latencyMs,
      responseExcerpt: result.excerpt,
      error: result.error,
      outcome,
    };
  }
}
