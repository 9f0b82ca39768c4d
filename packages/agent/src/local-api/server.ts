import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { EventLog } from './event-log.ts';
import type { DeviceApiSource } from './source.ts';
import { streamEvents } from './sse.ts';

export const DEVICE_API_VERSION = 'v0.2';
export const DEFAULT_SOCKET_PATH = '/run/bosun/bosun.sock';

export interface LocalApiOptions {
  socketPath: string;
  source: DeviceApiSource;
  events: EventLog;
  agentVersion: string;
  gitCommit?: string;
  buildDate?: string;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
}

class LocalApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly params: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const notFound = (resource: string, id: string) =>
  new LocalApiError(404, 'resource_not_found', `No ${resource} '${id}' is known to this device.`, {
    resource,
    id,
  });

/**
 * The on-robot Device API (v0.2.1-compatible) on a Unix socket: applications read which configs are
 * live and subscribe to changes without talking to the cloud. Access is the socket's file mode (0660).
 */
export class LocalApi {
  private readonly app: FastifyInstance;
  private readonly streams = new Set<() => void>();

  constructor(private readonly opts: LocalApiOptions) {
    this.app = Fastify({ logger: false });
    this.routes();
  }

  private routes(): void {
    const { app, opts } = this;
    app.setErrorHandler((err: Error, _req, reply) => {
      if (err instanceof LocalApiError) return sendError(reply, err);
      const status = (err as { statusCode?: number }).statusCode;
      if (status && status < 500)
        return sendError(reply, new LocalApiError(status, 'invalid_request', err.message));
      return sendError(reply, new LocalApiError(500, 'internal_server_error', err.message));
    });
    app.setNotFoundHandler((req, reply) =>
      sendError(reply, new LocalApiError(404, 'resource_not_found', `No route ${req.method} ${req.url}.`)),
    );

    app.register(
      async (v) => {
        v.get('/health', async () => ({ status: 'ok' }));
        v.get('/version', async () => ({
          version: opts.agentVersion,
          git_commit: opts.gitCommit ?? 'unknown',
          api_version: DEVICE_API_VERSION,
          api_git_commit: 'bosun',
          // Required by the v0.2.1 schema; this agent is not written in Rust, so it names its runtime.
          rust_version: `node ${process.version}`,
          build_date: opts.buildDate ?? new Date(0).toISOString(),
          os: platform(),
          arch: arch(),
        }));
        v.get('/device', async () => opts.source.device());
        v.post('/device/sync', async () => opts.source.sync());
        // `/current` is registered before `/:id`, so "current" is never taken for an id.
        v.get('/deployments/current', async () => {
          const d = await opts.source.currentDeployment();
          if (!d)
            throw new LocalApiError(
              404,
              'resource_not_found',
              'No deployment is currently deployed on this device.',
            );
          return d;
        });
        v.get<{ Params: { id: string } }>('/deployments/:id', async (req) => {
          const d = await opts.source.deployment(req.params.id);
          if (!d) throw notFound('deployment', req.params.id);
          return d;
        });
        v.get('/releases/current', async () => {
          const d = await opts.source.currentDeployment();
          const r = d && (await opts.source.release(d.release_id));
          if (!r)
            throw new LocalApiError(
              404,
              'resource_not_found',
              'No release is currently deployed on this device.',
            );
          return r;
        });
        v.get<{ Params: { id: string } }>('/releases/:id', async (req) => {
          const r = await opts.source.release(req.params.id);
          if (!r) throw notFound('release', req.params.id);
          return r;
        });
        v.get<{ Params: { id: string } }>('/git_commits/:id', async (req) => {
          const g = await opts.source.gitCommit(req.params.id);
          if (!g) throw notFound('git commit', req.params.id);
          return g;
        });
        v.get<{ Querystring: { after?: string; types?: string | string[] } }>(
          '/events',
          async (req, reply) => {
            const cursor = parseCursor(req.query.after ?? header(req.headers['last-event-id']));
            if (cursor !== undefined && opts.events.isExpired(cursor)) {
              throw new LocalApiError(
                410,
                'cursor_expired',
                `Events after ${cursor} are no longer retained; resynchronise.`,
                {
                  cursor,
                },
              );
            }
            const types = ([] as string[])
              .concat(req.query.types ?? [])
              .flatMap((t) => t.split(','))
              .map((t) => t.trim())
              .filter(Boolean);
            reply.hijack();
            const end = streamEvents(opts.events, reply.raw, {
              after: cursor,
              types,
              heartbeatMs: opts.heartbeatMs ?? 30_000,
              maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024,
            });
            this.streams.add(end);
            reply.raw.on('close', () => this.streams.delete(end));
          },
        );
      },
      { prefix: `/${DEVICE_API_VERSION}` },
    );
  }

  /** Event streams currently open (a cut-off slow client no longer counts). */
  get openStreams(): number {
    return this.streams.size;
  }

  async listen(): Promise<void> {
    const path = this.opts.socketPath;
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      if (await socketInUse(path)) throw new Error(`another process is serving ${path}`);
      unlinkSync(path);
    }
    await this.app.listen({ path });
    chmodSync(path, 0o660);
  }

  /** Ends every event stream first, so shutdown never waits on a connected client. */
  async close(): Promise<void> {
    for (const end of this.streams) end();
    this.streams.clear();
    await this.app.close();
  }
}

function sendError(reply: FastifyReply, err: LocalApiError) {
  return reply
    .status(err.status)
    .send({ error: { code: err.code, params: err.params, message: err.message } });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseCursor(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) {
    throw new LocalApiError(
      400,
      'malformed_cursor',
      `The event cursor '${raw}' is not a non-negative integer.`,
      {
        cursor: raw,
      },
    );
  }
  return Number(raw.trim());
}

function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
