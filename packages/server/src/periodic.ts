import type { FastifyBaseLogger } from 'fastify';

/**
 * A background job run every `intervalMs` in each replica: one pass at a time (a pass that outlasts
 * the interval is not doubled), never keeping the process alive, a failed pass logged and retried at
 * the next tick. The jobs themselves are safe to run on several replicas at once.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (this.timer || !(this.intervalMs > 0)) return;
    this.timer = setInterval(() => void this.runNow(), this.intervalMs);
    this.timer.unref();
  }

  /** Runs a pass now, or waits for the one in progress. */
  runNow(): Promise<void> {
    this.running ??= this.pass()
      .then(
        () => undefined,
        (err) => this.log.warn({ err: (err as Error).message, job: this.name }, 'background job failed'),
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
