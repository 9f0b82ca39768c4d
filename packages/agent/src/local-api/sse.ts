import type { ServerResponse } from 'node:http';
import type { AgentEvent, EventLog } from './event-log.ts';

export interface StreamOptions {
  /** Replay cursor: undefined = live only; 0 = every retained event. */
  after: number | undefined;
  types: string[];
  heartbeatMs: number;
  /** A client with more than this many unsent bytes is disconnected instead of slowing the agent. */
  maxBufferedBytes: number;
}

export function frame(event: AgentEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * Serves one SSE stream. It subscribes to live events before reading the replay, holds live events
 * back until the replay is written, and drops those the replay already covered: no gap, no
 * duplicate. A client that stops reading is cut off (it reconnects with Last-Event-ID and replays).
 * Returns a function that ends the stream (used at shutdown).
 */
export function streamEvents(log: EventLog, res: ServerResponse, opts: StreamOptions): () => void {
  let lastSent = opts.after ?? log.newestId;
  let replaying = true;
  const held: AgentEvent[] = [];
  let ended = false;

  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(heartbeat);
    res.end();
  };
  const send = (event: AgentEvent) => {
    if (ended || event.id <= lastSent) return;
    lastSent = event.id;
    if (opts.types.length && !opts.types.includes(event.type)) return;
    res.write(frame(event));
    if (res.writableLength > opts.maxBufferedBytes) {
      ended = true;
      unsubscribe();
      clearInterval(heartbeat);
      res.destroy();
    }
  };
  const unsubscribe = log.subscribe((event) => (replaying ? held.push(event) : send(event)));

  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': heartbeat\n\n');
  if (opts.after !== undefined) for (const event of log.since(opts.after)) send(event);
  replaying = false;
  for (const event of held.splice(0)) send(event);

  const heartbeat = setInterval(() => {
    if (!ended) res.write(': heartbeat\n\n');
  }, opts.heartbeatMs);
  heartbeat.unref();
  res.on('close', end);
  return end;
}
