import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { machine, platform } from 'node:os';
import { dirname } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { BuildInfo } from '../build-info.ts';
import type { EventLog } from './event-log.ts';
import type { DeviceApiSource } from './source.ts';
import { streamEvents } from './sse.ts';

export const DEVICE_API_VERSION = 'v0.2';
/**
 * The spec's `APIGitCommit`: a single-value enum in Device API v0.2.1 (the commit of the API
 * definition), so a strict client rejects anything else. Bosun's own commit is in `git_commit`.
 */
export const DEVICE_API_GIT_COMMIT = '10dc72e22958a4851e7f6718f5b7542b0c7f62e1';
/**
 * `rust_version` is a required string in v0.2.1; this agent has no Rust toolchain, so it says `none`
 * (documented in README, "For application developers on the robot").
 */
export const RUST_VERSION_NONE = 'none';
export const DEFAULT_SOCKET_PATH = '/run/bosun/bosun.sock';

export interface LocalApiOptions {
  socketPath: string;
  source: DeviceApiSource;
  events: EventLog;
  /** The agent's build (`version`, `git_commit`, `build_date` of `/v0.2/version`). */
  build: BuildInfo;
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
    emptyJsonIsNoBody(this.app);
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
          version: opts.build.version,
          git_commit: opts.build.gitCommit,
          api_version: DEVICE_API_VERSION,
          api_git_commit: DEVICE_API_GIT_COMMIT,
          rust_version: RUST_VERSION_NONE,
          build_date: opts.build.buildDate,
          os: platform(),
          // `uname -m` (x86_64, aarch64), the names robots know, not Node's x64/arm64.
          arch: machine(),
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

/**
 * Generated clients send `Content-Type: application/json` with an empty body on POSTs that take no
 * parameters (`POST /v0.2/device/sync`): that is the same as no body, on every
 * server Bosun runs.
 */
function emptyJsonIsNoBody(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    json(req, text, done);
  });
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
