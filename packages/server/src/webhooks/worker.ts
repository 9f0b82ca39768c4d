import {
  DELIVERY_RETRY,
  type DeliveryRetryPolicy,
  DISABLE_AFTER_FAILED_DELIVERIES,
  isDelivered,
  nextDeliveryAttempt,
} from '@bosun/core';
import type { FastifyBaseLogger } from 'fastify';
import { toIso } from '../db/time.ts';
import type { ClaimedDelivery, WebhookStore } from '../storage/webhooks.ts';
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
}

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
  };
}

/**
 * Sends due deliveries: claim a batch (with a lease), send them concurrently, record each attempt
 * and its outcome, repeat at once while there is work, else wait `pollMs`. Safe to run in every
 * replica: claims never overlap while a lease lives, and a dead replica's leases expire.
 */
export class DeliveryWorker {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

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
   * Stops claiming. Deliveries in flight get a moment to finish; one still waiting on a slow receiver
   * is abandoned, and its lease expiring hands it to the next process (at least once).
   */
  async stop(graceMs = 1_000): Promise<void> {
    this.running = false;
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await this.store.claim(this.opts.batch, this.opts.leaseMs);
        await Promise.all(claimed.map((c) => this.deliver(c)));
      } catch (err) {
        if (this.running) this.log.warn({ err: (err as Error).message }, 'webhook delivery pass failed');
      }
      if (claimed.length === 0 && this.running) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, this.opts.pollMs);
        });
        clearTimeout(this.timer);
        this.wake = undefined;
      }
    }
  }

  private async deliver({ delivery, endpoint, event }: ClaimedDelivery): Promise<void> {
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
    await this.store.finishAttempt({
      delivery,
      startedAt,
      statusCode: result.status,
      latencyMs: result.latencyMs,
      responseExcerpt: result.excerpt,
      error: result.error,
      outcome,
      disableAfter: this.opts.disableAfter,
    });
    if (outcome.kind === 'failed') {
      this.log.warn(
        { delivery_id: delivery.id, endpoint_id: endpoint.id },
        'webhook delivery failed for good',
      );
    }
  }
}
