import { PENDING_WORK_JITTER } from '@bosun/core';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type PassResult, Scheduler } from '../src/scheduler.ts';

/**
 * The scheduler's decisions, read from its own debug lines (what it scheduled, not how long anything
 * took): known pending work is retried within PENDING_WORK_JITTER's cap; an unreachable server with
 * nothing pending backs off towards the poll interval; one successful pass clears the pending work.
 */
const POLL_MS = 600_000;
let scheduler: Scheduler | undefined;

function harness(results: PassResult[]) {
  const lines: { next_pass_in_ms?: number; pending_work?: boolean }[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  let passes = 0;
  scheduler = new Scheduler({
    pollIntervalMs: POLL_MS,
    driftIntervalMs: POLL_MS,
    logger,
    pass: async () => results[Math.min(passes++, results.length - 1)]!,
    drift: async () => {},
    afterPass: () => {},
  });
  scheduler.start();
  const scheduled = () => lines.filter((l) => l.next_pass_in_ms !== undefined);
  return { s: scheduler, scheduled, passes: () => passes };
}

const down: PassResult = { reached: false, unfinished: false, nextRetryAt: undefined };
const up: PassResult = { reached: true, unfinished: false, nextRetryAt: undefined };

afterEach(async () => {
  await scheduler?.stop(0);
  scheduler = undefined;
});

describe('Scheduler', () => {
  it('after a hint, every retry while the server is down is at most a few seconds away', async () => {
    const { s, scheduled } = harness([down]);
    for (let i = 0; i < 12; i++) await s.trigger(i === 0 ? 'push' : 'retry');
    const after = scheduled().slice(-12);
    expect(after.every((l) => l.pending_work === true)).toBe(true);
    expect(Math.max(...after.map((l) => l.next_pass_in_ms!))).toBeLessThanOrEqual(PENDING_WORK_JITTER.capMs);
  });

  it('without pending work an unreachable server is polled with a backoff that grows past the cap', async () => {
    const { s, scheduled } = harness([down]);
    for (let i = 0; i < 14; i++) await s.trigger('poll');
    const after = scheduled().slice(-14);
    expect(after.every((l) => l.pending_work === false)).toBe(true);
    // Full jitter up to min(interval, 1 s × 2^n): by the 14th failure a draw above 4 s is all but certain.
    expect(Math.max(...after.map((l) => l.next_pass_in_ms!))).toBeGreaterThan(PENDING_WORK_JITTER.capMs);
  });

  it('a failed download or report keeps the work pending; a complete pass clears it', async () => {
    const { s, scheduled } = harness([{ reached: true, unfinished: true, nextRetryAt: undefined }, up]);
    await s.trigger('poll');
    expect(scheduled().at(-1)).toMatchObject({ pending_work: true });
    await s.trigger('retry');
    expect(scheduled().at(-1)).toMatchObject({ pending_work: false });
    expect(scheduled().at(-1)!.next_pass_in_ms).toBeGreaterThanOrEqual(POLL_MS / 2);
  });
});
