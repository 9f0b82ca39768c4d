import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { bootstrapAdminKey } from './bootstrap.ts';
import type { ServerConfig } from './config.ts';
import { openStore, type Store } from './db/database.ts';
import { createLogger } from './logger.ts';
import { BOSUN_VERSION } from './version.ts';

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  close(): Promise<void>;
}

/** Opens storage (running migrations), ensures an admin key exists, and listens. */
export async function startServer(
  config: ServerConfig,
  opts: { logger?: Logger; print?: (text: string) => void; pgSchema?: string } = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const print = opts.print ?? ((text: string) => process.stdout.write(text));
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    pgSchema: opts.pgSchema,
    onConnectionError: (err) => logger.warn({ err: err.message }, 'database connection lost; reconnecting'),
  });
  let app: FastifyInstance | undefined;
  let boot: Awaited<ReturnType<typeof bootstrapAdminKey>> | undefined;
  try {
    app = await buildApp({
      store,
      loggerInstance: logger,
      gitHosts: config.gitHosts,
      autoRollback: config.autoRollback,
      bodyLimit: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      mqtt: {
        url: config.mqttUrl,
        publicUrl: config.mqttPublicUrl,
        auth: config.mqttAuth,
        httpAuthSecret: config.brokerAuthSecret,
        port: config.mqttPort,
        host: config.host,
        tls: config.tls,
      },
      downloads: { artifactsDir: config.artifactsDir, publicUrl: config.publicUrl },
      https: config.tls,
    });
    // The admin key exists before the port opens (so a client that sees the server up can use it),
    // and a refused BOSUN_BOOTSTRAP_API_KEY stops start-up before anything listens.
    boot = await bootstrapAdminKey(app.repos.apiKeys, config.bootstrapApiKey);
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // A key nobody was shown (the port was taken, say) would lock the operator out on the next start.
    if (app && boot && boot.kind !== 'existing') await app.repos.apiKeys.remove(boot.id).catch(() => {});
    await app?.close().catch(() => {});
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  logger.info(
    { version: BOSUN_VERSION, url, database: store.engine, location: store.location },
    'bosun server listening',
  );

  if (boot?.kind === 'generated') print(adminKeyBanner(url, boot.secret));
  if (boot?.kind === 'provided')
    logger.info({ key_id: boot.id }, 'created the admin key from BOSUN_BOOTSTRAP_API_KEY');

  const running = app;
  return {
    app: running,
    store,
    url,
    async close() {
      await running.close();
      await store.close();
    },
  };
}

function adminKeyBanner(url: string, secret: string): string {
  const line = '─'.repeat(78);
  return [
    '',
    line,
    ' Bosun created an admin API key. It is shown only this once; store it now.',
    '',
    `   ${secret}`,
    '',
    ' Try it:',
    `   curl -H 'X-API-Key: ${secret}' -H 'Miru-Version: 2026-03-09.tetons' ${url}/beta/principal`,
    '',
    ' More keys (run in a clone of Bosun, or drop `npx` where bosun is installed):',
    `   BOSUN_SERVER=${url} BOSUN_API_KEY=${secret} npx bosun keys create --name ci --scopes "releases:manage,config_schemas:manage"`,
    line,
    '',
    '',
  ].join('\n');
}

/** Runs until SIGTERM/SIGINT, then stops accepting, drains in-flight requests and closes the database. */
export function closeOnSignals(server: RunningServer, logger: Pick<Logger, 'info' | 'error'>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
