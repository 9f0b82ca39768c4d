import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { machine, platform } from 'node:os';
import { dirname } from 'node:path';
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

type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: { id: string; query: URLSearchParams },
) => Promise<unknown>;

/** Fastify's default, kept: a sync request has no meaningful body, so anything larger is refused. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The on-robot Device API (v0.2.1-compatible) on a Unix socket: applications read which configs are
 * live and subscribe to changes without talking to the cloud. Access is the socket's file mode (0660).
 * Plain node:http with a route table, not Fastify: eight fixed routes need no framework, and an idle
 * robot saves the ≈ 5 MB of RSS Fastify's modules cost (docs/decisions.md #79).
 */
export class LocalApi {
  private readonly server: Server;
  private readonly streams = new Set<() => void>();
  /** `METHOD /path` → handler; a trailing `/:id` segment is matched as `METHOD /prefix/:id`. */
  private readonly routes = new Map<string, Handler>();

  constructor(private readonly opts: LocalApiOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => sendError(res, internal(err)));
    });
    this.defineRoutes();
  }

  private defineRoutes(): void {
    const { opts } = this;
    const get = (path: string, handler: Handler) => this.routes.set(`GET ${path}`, handler);
    get('/health', async () => ({ status: 'ok' }));
    get('/version', async () => ({
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
    get('/device', async () => opts.source.device());
    this.routes.set('POST /device/sync', async (req) => {
      await readJsonBody(req);
      return opts.source.sync();
    });
    // Exact paths win over `/:id`, so "current" is never taken for an id.
    get('/deployments/current', async () => {
      const d = await opts.source.currentDeployment();
      if (!d)
        throw new LocalApiError(
          404,
          'resource_not_found',
          'No deployment is currently deployed on this device.',
        );
      return d;
    });
    get('/deployments/:id', async (_req, _res, { id }) => {
      const d = await opts.source.deployment(id);
      if (!d) throw notFound('deployment', id);
      return d;
    });
    get('/releases/current', async () => {
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
    get('/releases/:id', async (_req, _res, { id }) => {
      const r = await opts.source.release(id);
      if (!r) throw notFound('release', id);
      return r;
    });
    get('/git_commits/:id', async (_req, _res, { id }) => {
      const g = await opts.source.gitCommit(id);
      if (!g) throw notFound('git commit', id);
      return g;
    });
    get('/events', async (req, res, { query }) => {
      const cursor = parseCursor(query.get('after') ?? header(req.headers['last-event-id']));
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
      const types = query
        .getAll('types')
        .flatMap((t) => t.split(','))
        .map((t) => t.trim())
        .filter(Boolean);
      const end = streamEvents(opts.events, res, {
        after: cursor,
        types,
        heartbeatMs: opts.heartbeatMs ?? 30_000,
        maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024,
      });
      this.streams.add(end);
      res.on('close', () => this.streams.delete(end));
      return STREAMING;
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    // HEAD answers like GET without a body (node:http drops it), as Fastify's HEAD routes did.
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const prefix = `/${DEVICE_API_VERSION}`;
    const route = path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
    let handler = route === undefined ? undefined : this.routes.get(`${method} ${route}`);
    let id = '';
    if (!handler && route !== undefined) {
      const slash = route.lastIndexOf('/');
      handler = slash > 0 ? this.routes.get(`${method} ${route.slice(0, slash)}/:id`) : undefined;
      if (handler) {
        try {
          id = decodeURIComponent(route.slice(slash + 1));
        } catch {
          return sendError(
            res,
            new LocalApiError(400, 'invalid_request', `The path ${path} is not valid percent-encoding.`),
          );
        }
        if (id === '') handler = undefined;
      }
    }
    if (!handler) {
      req.resume();
      return sendError(res, new LocalApiError(404, 'resource_not_found', `No route ${req.method} ${url}.`));
    }
    let body: unknown;
    try {
      body = await handler(req, res, { id, query });
    } catch (err) {
      req.resume();
      return sendError(res, err instanceof LocalApiError ? err : internal(err));
    }
    if (body !== STREAMING) sendJson(res, 200, body);
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
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o660);
  }

  /** Ends every event stream first, so shutdown never waits on a connected client. */
  async close(): Promise<void> {
    for (const end of this.streams) end();
    this.streams.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }
}

/** What the events handler returns: it has taken the response over. */
const STREAMING = Symbol('streaming');

const internal = (err: unknown) =>
  new LocalApiError(500, 'internal_server_error', err instanceof Error ? err.message : String(err));

/**
 * The body of a POST, which no route needs: read so a malformed one is refused the same way a
 * framework would. Generated clients send `Content-Type: application/json` with an empty body on
 * POSTs that take no parameters (`POST /v0.2/device/sync`): that is the same as no body.
 */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new LocalApiError(
        413,
        'invalid_request',
        `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
      );
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new LocalApiError(415, 'invalid_request', `Unsupported Media Type: ${type || 'none'}.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LocalApiError(400, 'invalid_request', 'The request body is not valid JSON.');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: LocalApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { code: err.code, params: err.params, message: err.message } });
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
