import { ADMIN_SCOPES } from '@bosun/core';
import { generateApiKeySecret, type RunningServer, type ServerConfig, startServer } from '@bosun/server';
import pino from 'pino';
import { createTestDatabase, httpEngine, type TestDatabase, type TestEngine } from './store.ts';

export const API_VERSION = '2026-03-09.tetons';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A real server on a random port over a fresh database, with an admin key and a fetch helper. */
export interface TestServer {
  url: string;
  engine: TestEngine;
  adminKey: string;
  server: RunningServer;
  database: TestDatabase;
  /** Calls the platform API as `key` (default: admin) with the version header set. */
  api<T = any>(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse<T>>;
  /** Creates an API key with exactly these scopes and returns its secret. */
  keyWith(...scopes: string[]): Promise<string>;
  close(): Promise<void>;
}

export interface RequestOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  version?: string | null;
}

export async function startTestServer(
  opts: { engine?: TestEngine; config?: Partial<ServerConfig> } = {},
): Promise<TestServer> {
  const database = createTestDatabase(opts.engine ?? httpEngine());
  const adminKey = generateApiKeySecret();
  const server = await startServer(
    {
      port: 0,
      host: '127.0.0.1',
      dataDir: database.dataDir,
      databaseUrl: database.databaseUrl,
      logLevel: 'silent',
      bootstrapApiKey: adminKey,
      ...opts.config,
    },
    { logger: pino({ level: process.env.BOSUN_TEST_LOG_LEVEL ?? 'silent' }), pgSchema: database.pgSchema },
  );
  const api = async <T>(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.version !== null) headers['miru-version'] = o.version ?? API_VERSION;
    if (o.key !== null) headers['x-api-key'] = o.key ?? adminKey;
    let body: string | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path.startsWith('/') ? '' : '/beta/'}${path}`, {
      method,
      headers,
      body,
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    url: server.url,
    engine: database.engine,
    adminKey,
    server,
    database,
    api,
    async keyWith(...scopes: string[]) {
      const secret = generateApiKeySecret();
      await server.app.repos.apiKeys.create({ name: `test ${scopes.join(' ')}`, scopes, secret });
      return secret;
    },
    async close() {
      await server.close();
      await database.destroy();
    },
  };
}

export { ADMIN_SCOPES };
