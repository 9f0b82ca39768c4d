import { request } from 'node:http';
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
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at = buffer.indexOf('\n\n');
        while (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data) {
            const event = JSON.parse(data) as AgentEvent;
            if (cursor === undefined || event.id > cursor) {
              cursor = event.id;
              callback({ kind: 'event', event });
            }
          }
          at = buffer.indexOf('\n\n');
        }
      });
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
