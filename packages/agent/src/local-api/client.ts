import { request } from 'node:http';
import { createParser } from 'eventsource-parser';
import type { AgentEvent } from './event-log.ts';
import { DEFAULT_SOCKET_PATH } from './server.ts';
import type { LocalDeployment } from './source.ts';

/**
 * A small client for applications on the robot. `onConfigChange` keeps an SSE connection to the
 * agent, resumes after a disconnect with the last event id (so nothing is missed or repeated), and
 * when the agent no longer retains that far back (410) it resynchronises: it reconnects live first,
 * then reads the current deployment, so a change in between cannot slip through.
 */
export type ConfigChange =
  | { kind: 'event'; event: AgentEvent }
  | { kind: 'resync'; current: LocalDeployment | undefined };

export interface ConfigWatchOptions {
  socketPath?: string;
  /** Event types to receive; default both deployment events. */
  types?: string[];
  /** Start after this event id (e.g. persisted by the app); default: live only. */
  after?: number;
  /** Delay before reconnecting; doubles up to 30 s while the agent is unreachable. */
  retryMs?: number;
  onError?: (err: Error) => void;
}

export interface ConfigWatch {
  /** Id of the last event delivered (persist it to resume across app restarts). */
  readonly lastEventId: number | undefined;
  close(): void;
}

export function onConfigChange(
  callback: (change: ConfigChange) => void,
  opts: ConfigWatchOptions = {},
): ConfigWatch {
  const socketPath = opts.socketPath ?? DEFAULT_SOCKET_PATH;
  const types = opts.types ?? ['deployment.deployed', 'deployment.removed'];
  let cursor = opts.after;
  let closed = false;
  let resyncPending = false;
  let retry = opts.retryMs ?? 500;
  let current: ReturnType<typeof request> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30_000);
  };

  const connect = () => {
    const query = new URLSearchParams({ types: types.join(',') });
    if (cursor !== undefined) query.set('after', String(cursor));
    const req = request({
      socketPath,
      path: `/v0.2/events?${query}`,
      headers: { accept: 'text/event-stream' },
    });
    current = req;
    req.on('response', (res) => {
      if (res.statusCode === 410) {
        res.resume();
        cursor = undefined;
        resyncPending = true;
        retry = opts.retryMs ?? 500;
        setImmediate(connect);
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        opts.onError?.(new Error(`event stream answered ${res.statusCode}`));
        schedule();
        return;
      }
      retry = opts.retryMs ?? 500;
      if (resyncPending) {
        resyncPending = false;
        getJson<LocalDeployment>(socketPath, '/v0.2/deployments/current').then(
          (d) => callback({ kind: 'resync', current: d }),
          (err) => opts.onError?.(err),
        );
      }
      // eventsource-parser frames the stream per the SSE spec (LF, CRLF or CR line ends, comments,
      // multi-line data). A payload that is not an event is reported and skipped; it never throws out
      // of the stream's listener.
      const parser = createParser({
        onEvent: (message) => {
          const event = parseEvent(message.data);
          if (!event) {
            opts.onError?.(
              new Error(`event stream sent a payload that is not an event: ${message.data.slice(0, 200)}`),
            );
            return;
          }
          if (cursor === undefined || event.id > cursor) {
            cursor = event.id;
            callback({ kind: 'event', event });
          }
        },
        onError: (err) => opts.onError?.(err),
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('end', schedule);
      res.on('error', () => {});
    });
    req.on('error', (err) => {
      if (closed) return;
      opts.onError?.(err);
      schedule();
    });
    req.end();
  };

  connect();
  return {
    get lastEventId() {
      return cursor;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      current?.destroy();
    },
  };
}

/** The event of one SSE `data` payload, or undefined when it is not JSON of an event's shape. */
function parseEvent(data: string): AgentEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Partial<AgentEvent>;
  return Number.isSafeInteger(e.id) &&
    typeof e.type === 'string' &&
    typeof e.data === 'object' &&
    e.data !== null
    ? (value as AgentEvent)
    : undefined;
}

/** GET a Device API path over the Unix socket; undefined on 404. */
export function getJson<T>(socketPath: string, path: string): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => {
        if (res.statusCode === 404) return resolve(undefined);
        if (res.statusCode !== 200) return reject(new Error(`${path} answered ${res.statusCode}: ${body}`));
        resolve(JSON.parse(body) as T);
      });
    });
    req.on('error', reject);
    req.end();
  });
}
