import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** The envelope of Device API v0.2.1 `Event`. */
export interface AgentEvent {
  object: 'event';
  id: number;
  type: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

export interface EventLogOptions {
  /** Keep at most this many events; past it, compact to `compactTo`. */
  retain?: number;
  compactTo?: number;
}

type Listener = (event: AgentEvent) => void;

/**
 * The agent's durable event log: one JSON line per event, appended and fdatasync'ed before anyone
 * hears of it, so an event a client saw is never lost by a crash. Ids increase monotonically for the
 * life of the state directory: a watermark file records the highest id ever issued and the highest
 * id compacted away, so neither a restart, a compaction nor a corrupted tail can reuse an id.
 */
export class EventLog {
  private readonly file: string;
  private readonly watermarkFile: string;
  private readonly retain: number;
  private readonly compactTo: number;
  private events: AgentEvent[] = [];
  private lastId = 0;
  /** Highest id removed by compaction: cursors below it can no longer be served. */
  private compactedThrough = 0;
  private fd: number;
  private readonly listeners = new Set<Listener>();

  constructor(dir: string, opts: EventLogOptions = {}) {
    this.retain = opts.retain ?? 2000;
    this.compactTo = Math.min(opts.compactTo ?? Math.floor(this.retain * 0.8), this.retain);
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'events.jsonl');
    this.watermarkFile = join(dir, 'watermark.json');
    this.load();
    this.fd = openSync(this.file, 'a');
  }

  private load(): void {
    if (existsSync(this.watermarkFile)) {
      try {
        const w = JSON.parse(readFileSync(this.watermarkFile, 'utf8'));
        this.lastId = Number(w.last_id) || 0;
        this.compactedThrough = Number(w.compacted_through) || 0;
      } catch {
        // A torn watermark is recomputed from the log below.
      }
    }
    if (!existsSync(this.file)) return;
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as AgentEvent;
        if (typeof e.id !== 'number' || e.id <= this.compactedThrough) continue;
        if (this.events.length && e.id <= this.events[this.events.length - 1]!.id) continue;
        this.events.push(e);
        this.lastId = Math.max(this.lastId, e.id);
      } catch {
        // A line torn by a crash mid-append is skipped; it was never acknowledged.
      }
    }
  }

  /** Appends durably, then tells live subscribers. */
  append(type: string, data: Record<string, unknown>, occurredAt = new Date()): AgentEvent {
    const event: AgentEvent = {
      object: 'event',
      id: this.lastId + 1,
      type,
      occurred_at: occurredAt.toISOString(),
      data,
    };
    writeSync(this.fd, `${JSON.stringify(event)}\n`);
    fdatasyncSync(this.fd);
    this.lastId = event.id;
    this.events.push(event);
    if (this.events.length > this.retain) this.compact();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Rewrites the newest `compactTo` events to a temp file and renames it over the log (atomic). */
  private compact(): void {
    const keep = this.events.slice(this.events.length - this.compactTo);
    const dropped = this.events[this.events.length - this.compactTo - 1]!.id;
    const tmp = `${this.file}.tmp`;
    writeDurably(tmp, keep.map((e) => `${JSON.stringify(e)}\n`).join(''));
    writeDurably(
      `${this.watermarkFile}.tmp`,
      JSON.stringify({ last_id: this.lastId, compacted_through: dropped }),
    );
    renameSync(`${this.watermarkFile}.tmp`, this.watermarkFile);
    closeSync(this.fd);
    renameSync(tmp, this.file);
    fsyncDir(dirname(this.file));
    this.fd = openSync(this.file, 'a');
    this.events = keep;
    this.compactedThrough = dropped;
  }

  get newestId(): number {
    return this.lastId;
  }

  /** True when events after `cursor` were compacted away (and the cursor is not 0 = "all retained"). */
  isExpired(cursor: number): boolean {
    return cursor !== 0 && cursor < this.compactedThrough;
  }

  /** Retained events with id > `after`, optionally only of `types`. */
  since(after: number, types?: readonly string[]): AgentEvent[] {
    return this.events.filter((e) => e.id > after && (!types?.length || types.includes(e.type)));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    closeSync(this.fd);
  }
}

function writeDurably(path: string, text: string): void {
  writeFileSync(path, text);
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
