import { fullJitterMs, jitteredIntervalMs, PENDING_WORK_JITTER, shouldLogFailure } from '@bosun/core';
import type { Logger } from 'pino';

/** How one reconcile pass went, as far as timing is concerned. */
export interface PassResult {
  /** The desired state was fetched (the server answered). */
  reached: boolean;
  /** Known work is left undone for a network reason: a download failed, or reports wait in the outbox. */
  unfinished: boolean;
  /** Epoch ms of the earliest deployment retry, if any. */
  nextRetryAt: number | undefined;
}

export interface SchedulerOptions {
  /** Steady poll (default 60 s), each wait drawn from [interval/2, interval]. */
  pollIntervalMs: number;
  driftIntervalMs: number;
  logger: Logger;
  /** One reconcile pass; runs under the scheduler's lock. */
  pass: () => Promise<PassResult>;
  /** One drift check; runs under the same lock, never beside a pass. */
  drift: () => Promise<void>;
  /** Called after every pass, successful or not. */
  afterPass: () => void;
}

/**
 * The agent's timers and its one-at-a-time rule. A pass runs on start, on a push hint, on the poll, at a
 * deployment's retry time and on demand; requests while a pass runs fold into one more pass. While the
 * server is unreachable the poll backs off with full jitter up to the poll interval — unless the agent
 * knows work is waiting (a hint arrived, a download or report failed), then it retries with
 * `PENDING_WORK_JITTER` (at most a few seconds apart), so a deployment made during an outage is applied
 * within seconds of the server's return and a fleet does not come back in lockstep.
 */
export class Scheduler {
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private driftTimer: NodeJS.Timeout | undefined;
  private requested = false;
  private running: Promise<void> | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private stopped = true;
  /** Consecutive passes that could not reach the server (backoff and log rate). */
  private serverFailures = 0;
  /** Work is known to wait (hint, failed download or report), and how many quick retries it has had. */
  private owed = false;
  private owedAttempts = 0;

  constructor(private readonly opts: SchedulerOptions) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.schedulePoll();
    this.driftTimer = setInterval(() => {
      this.exclusive(this.opts.drift).catch((err) =>
        this.opts.logger.error({ err: String(err) }, 'drift check failed'),
      );
    }, this.opts.driftIntervalMs);
  }

  /** Clears the timers; resolves when a running pass ends or after `waitMs`. */
  async stop(waitMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.driftTimer);
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
    await Promise.race([this.running?.catch(() => {}), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  /** Requests a pass; resolves when a pass that started after this call is done. */
  trigger(reason: 'start' | 'push' | 'poll' | 'retry' | 'demand'): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.opts.logger.debug({ reason }, 'reconcile requested');
    // A hint says the server has something new: until a pass gets it, retry quickly.
    if (reason === 'push') this.owed = true;
    this.requested = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Runs `fn` under the lock: a pass and a drift check never overlap, each sees the other's result. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  private async loop(): Promise<void> {
    while (this.requested && !this.stopped) {
      this.requested = false;
      try {
        this.passed(await this.exclusive(this.opts.pass));
      } catch (err) {
        this.opts.logger.error({ err: String(err) }, 'reconcile failed');
        this.schedulePoll();
      }
      this.opts.afterPass();
    }
  }

  private passed(result: PassResult): void {
    const log = this.opts.logger;
    if (result.reached) {
      if (this.serverFailures > 0)
        log.info({ failed_attempts: this.serverFailures }, 'server reachable again');
      this.serverFailures = 0;
    } else {
      this.serverFailures++;
      // Logged once, then at a backoff (2nd, 4th, 8th, … failure), not on every retry.
      if (shouldLogFailure(this.serverFailures))
        log.warn(
          { failed_attempts: this.serverFailures },
          'server unreachable; working from the last known state',
        );
    }
    // Owed work is done once a pass reached the server and left nothing unfinished.
    if (result.unfinished) this.owed = true;
    else if (result.reached) this.owed = false;
    if (!this.owed) this.owedAttempts = 0;
    this.schedulePoll();
    this.scheduleRetry(result.nextRetryAt);
  }

  /**
   * The next poll, counted from the last pass: about the interval while the server answers; after a
   * failure, full-jitter backoff from 1 s capped at the interval — or at `PENDING_WORK_JITTER`'s cap
   * while work is known to wait.
   */
  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    const interval = this.opts.pollIntervalMs;
    let delay: number;
    if (this.owed) {
      delay = Math.min(fullJitterMs(this.owedAttempts++, PENDING_WORK_JITTER), interval);
    } else if (this.serverFailures > 0) {
      delay = fullJitterMs(this.serverFailures - 1, {
        baseMs: Math.min(1_000, interval),
        capMs: interval,
        minMs: Math.min(100, interval),
      });
    } else delay = jitteredIntervalMs(interval);
    this.opts.logger.debug({ next_pass_in_ms: delay, pending_work: this.owed }, 'next pass scheduled');
    this.pollTimer = setTimeout(() => this.trigger(this.owed ? 'retry' : 'poll'), delay);
  }

  private scheduleRetry(at: number | undefined): void {
    clearTimeout(this.retryTimer);
    if (at === undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => this.trigger('retry'), Math.max(0, at - Date.now()) + 10);
  }
}
