import {
  DEFAULT_SESSION_POLICY,
  type GitHostMap,
  LIMITS,
  randomBase62,
  type SessionPolicy,
} from '@bosun/core';
import { webDir } from '@bosun/web';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { sql } from 'kysely';
import { agentApi } from './agent-api/index.ts';
import type { Store } from './db/database.ts';
import { DEFAULT_ARTIFACTS_DIR, type DownloadsOptions, downloadRoutes } from './downloads/routes.ts';
import { platformAuthPlugin } from './http/auth.ts';
import { errorsPlugin } from './http/errors.ts';
import { documentIdempotencyKey, idempotencyPlugin } from './http/idempotency.ts';
import { jsonBodyPlugin } from './http/json-body.ts';
import { installInputLimits } from './http/limits.ts';
import { declareVersionHeader, docsBranding } from './http/openapi.ts';
import { normaliseQuery } from './http/query.ts';
import { requestLogPlugin } from './http/request-log.ts';
import { routeTablePlugin } from './http/route-table.ts';
import { ErrorEnvelope } from './http/schemas.ts';
import { lazySerializerFactory } from './http/serialization.ts';
import { validatorCompiler } from './http/validation.ts';
import {
  brokerAuthOptions,
  brokerAuthRoutes,
  createNotifier,
  type DeviceNotifier,
  type MqttOptions,
  type PushChannel,
  startPushChannel,
} from './mqtt/index.ts';
import { PeriodicJob } from './periodic.ts';
import { RolloutDriver } from './rollouts/driver.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { configInstanceRoutes } from './routes/config-instances.ts';
import { configSchemaRoutes } from './routes/config-schemas.ts';
import { configTypeRoutes } from './routes/config-types.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { deviceAgentRoutes } from './routes/device-agent.ts';
import { deviceRoutes } from './routes/devices.ts';
import { gitCommitRoutes } from './routes/git-commits.ts';
import { groupRoutes } from './routes/groups.ts';
import { principalRoutes } from './routes/principal.ts';
import { redeployRoutes } from './routes/redeploy.ts';
import { releaseRoutes } from './routes/releases.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.ts';
import { createRepositories, type Repositories } from './storage/index.ts';
import { eventStreamRoutes } from './ui/events.ts';
import { fleetRoutes } from './ui/fleet.ts';
import { uiRoutes } from './ui/routes.ts';
import { sessionAuthenticator, UiSessionStore } from './ui/sessions.ts';
import { validateRoutes } from './ui/validate.ts';
import { BOSUN_VERSION } from './version.ts';
import { viewSchemas } from './views/index.ts';
import { installWebhooks, type WebhookOptions, type Webhooks } from './webhooks/index.ts';

export interface AppOptions {
  store: Store;
  logger?: FastifyServerOptions['logger'] | undefined;
  loggerInstance?: FastifyServerOptions['loggerInstance'] | undefined;
  /** Push channel: external broker URL, or the embedded broker's optional TCP port. */
  mqtt?: MqttOptions | undefined;
  /** Forge of each self-hosted git server (`BOSUN_GIT_HOSTS`). */
  gitHosts?: GitHostMap | undefined;
  /** Roll failed upgrades back automatically (default true; `BOSUN_AUTO_ROLLBACK=0`). */
  autoRollback?: boolean | undefined;
  /** How often the rollout driver looks at running rollouts (default 1000 ms). */
  rolloutTickMs?: number | undefined;
  /** How often presence events due by the no-contact rule are looked for (default 5000 ms). */
  presenceSweepMs?: number | undefined;
  /** Largest request body in bytes; default LIMITS.bodyBytes. */
  bodyLimit?: number | undefined;
  /** Proxies (addresses/CIDRs) whose X-Forwarded-* headers are believed; none by default. */
  trustProxy?: string[] | undefined;
  /** Agent artifacts and the install script (`/downloads/*`, `/install.sh`). */
  downloads?: Partial<DownloadsOptions> | undefined;
  /** The dashboard: its built files (default: @bosun/web's dist) and session limits. */
  ui?: { webDir?: string | undefined; session?: Partial<SessionPolicy>; eventPollMs?: number } | undefined;
  /** Webhook delivery and validation; unset fields come from `BOSUN_WEBHOOKS_*`. */
  webhooks?: Partial<WebhookOptions> | undefined;
  /** Serve HTTPS with this PEM certificate chain and key (`BOSUN_TLS_CERT_FILE`/`BOSUN_TLS_KEY_FILE`). */
  https?: { cert: string; key: string } | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    repos: Repositories;
    store: Store;
    push: PushChannel;
    /** Call after a commit that changes what a device must act on; publishes a sync hint. */
    notifier: DeviceNotifier;
    /** Webhook delivery worker and `deployment.validate`. */
    webhooks: Webhooks;
    /** Emits device.online/offline when the no-contact rule changes a device's presence. */
    presenceSweep: PeriodicJob;
  }
}

/** The input limits, for the OpenAPI document (the README has the same table). */
const LIMITS_DESCRIPTION = [
  '**Limits.** A request over a limit is refused before the expensive step it protects, with the error envelope:',
  `- request body: at most ${LIMITS.bodyBytes} bytes (413 \`body_too_large\`; server option BOSUN_BODY_LIMIT_BYTES);`,
  `- JSON body nesting at most ${LIMITS.bodyDepth} levels, at most ${LIMITS.bodyKeys} keys per object or items per array, strings at most ${LIMITS.bodyStringChars} characters; path and query values at most ${LIMITS.paramChars} characters (400 \`limit_exceeded\`);`,
  `- schema documents and instance content (JSON/YAML): nesting at most ${LIMITS.documentDepth} levels, at most ${LIMITS.documentKeys} keys or items per object or array; at most ${LIMITS.schemaDocuments} documents per schema (400 \`limit_exceeded\`);`,
  '- text containing U+0000 or an unpaired surrogate, anywhere in a path, query or body: 400 `invalid_text`;',
  '- a CUE schema or validation that needs more than its CPU budget (default 5 s): 422 `schema_too_expensive`; too many CUE jobs waiting: 503 `schema_engine_busy`;',
  '- JSON Schema `pattern`/`patternProperties` run on a linear-time (RE2) engine: backreferences and lookaround are a 422 `invalid_schema`.',
].join('\n');

/** Builds the HTTP application over an open store; listening and signals belong to the caller. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // An https server is an http.Server to everything downstream (the embedded broker's upgrade
    // handler included), so the WebSocket path becomes wss with it.
    ...(opts.https ? { https: opts.https } : {}),
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: opts.logger ?? false }),
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => `req_${randomBase62(16)}`,
    bodyLimit: opts.bodyLimit ?? LIMITS.bodyBytes,
    ...(opts.trustProxy?.length ? { trustProxy: opts.trustProxy } : {}),
    return503OnClosing: true,
    // No `ajv` options: every route validates through `validatorCompiler` (http/validation.ts), which
    // has its own Ajv instances; Fastify's built-in Ajv is never used.
    schemaController: { compilersFactory: { buildSerializer: lazySerializerFactory } },
  });
  await app.register(routeTablePlugin);
  const repos = createRepositories(opts.store.db, {
    gitHosts: opts.gitHosts ?? {},
    autoRollback: opts.autoRollback ?? true,
  });
  app.decorate('repos', repos);
  app.decorate('store', opts.store);
  app.setValidatorCompiler(validatorCompiler);
  const push = await startPushChannel(opts.mqtt ?? {}, app.server, repos.deviceIdentity, app.log);
  app.decorate('push', push);
  app.decorate('notifier', createNotifier(push, app.log));
  app.addHook('preClose', async () => push.close());
  app.decorate('webhooks', installWebhooks(app, repos.webhooks, opts.webhooks));
  // Rollouts advance in the background (docs/decisions.md #78); claims in the database keep replicas apart.
  const rolloutDriver = new RolloutDriver(repos, app.notifier, app.log, { tickMs: opts.rolloutTickMs });
  app.addHook('onReady', async () => rolloutDriver.start());
  app.addHook('preClose', async () => rolloutDriver.stop());
  // Presence by silence has no moment of its own: a sweep announces it (docs/decisions.md #88).
  const presenceSweep = new PeriodicJob(
    'presence sweep',
    opts.presenceSweepMs ?? 5000,
    () => repos.deviceIdentity.sweepPresence(),
    app.log,
  );
  app.decorate('presenceSweep', presenceSweep);
  app.addHook('onReady', async () => presenceSweep.start());
  app.addHook('preClose', async () => presenceSweep.stop());
  // The API speaks JSON only: a text/plain body is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  await app.register(jsonBodyPlugin);
  await app.register(cookie);
  const uiSessions = new UiSessionStore(opts.store.db, repos.apiKeys, {
    ...DEFAULT_SESSION_POLICY,
    ...opts.ui?.session,
  });
  installInputLimits(app);

  await app.register(errorsPlugin);
  await app.register(requestLogPlugin);
  app.addSchema(ErrorEnvelope);
  for (const schema of viewSchemas) app.addSchema(schema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Bosun Platform API',
        version: '2026-03-09.tetons',
        description: `Configuration deployment for robot fleets. Wire-compatible with the Miru Platform API 2026-03-09.tetons. Server ${BOSUN_VERSION}.\n\n${LIMITS_DESCRIPTION}`,
      },
      servers: [{ url: '/beta' }],
      components: {
        securitySchemes: { ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      },
      security: [{ ApiKeyAuth: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
    transform: ({ schema, url }) => ({ schema, url: url.replace(/^\/beta/, '') }),
    // Both transforms take the whole document: the version header on every path, the idempotency
    // key on every POST.
    transformObject: (doc) =>
      'openapiObject' in doc
        ? documentIdempotencyKey(declareVersionHeader(doc) as typeof doc.openapiObject)
        : doc.swaggerObject,
    hideUntagged: true,
  });

  app.get('/healthz', { config: { public: true } }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(opts.store.db);
      return { status: 'ok', database: opts.store.engine };
    } catch {
      return reply.status(503).send({ status: 'unavailable', database: opts.store.engine });
    }
  });

  await app.register(
    async (beta) => {
      beta.addHook('preValidation', normaliseQuery);
      beta.get('/openapi.json', { config: { public: true } }, async () => app.swagger());
      await beta.register(platformAuthPlugin, {
        apiKeys: repos.apiKeys,
        sessions: sessionAuthenticator(uiSessions),
      });
      await beta.register(idempotencyPlugin, { store: repos.idempotencyKeys });
      for (const routes of [
        configTypeRoutes,
        configSchemaRoutes,
        configInstanceRoutes,
        releaseRoutes,
        deploymentRoutes,
        deviceRoutes,
        gitCommitRoutes,
        apiKeyRoutes,
        redeployRoutes,
        groupRoutes,
      ])
        await beta.register(routes, { repos });
      await beta.register(webhookEndpointRoutes, { repos, webhooks: app.webhooks });
      await beta.register(rolloutRoutes, { repos, driver: rolloutDriver });
      await beta.register(principalRoutes);
      await beta.register(deviceAgentRoutes, { repos, push });
      await beta.register(fleetRoutes, { db: opts.store.db, repos });
      await beta.register(validateRoutes, { repos });
      await beta.register(eventStreamRoutes, { db: opts.store.db, pollMs: opts.ui?.eventPollMs });
    },
    { prefix: '/beta' },
  );

  await app.register(agentApi, { prefix: '/agent/v1', repos, push });
  const brokerAuth = brokerAuthOptions(opts.mqtt, repos.deviceIdentity, app.log);
  if (brokerAuth) await app.register(brokerAuthRoutes, { prefix: '/broker/v1', ...brokerAuth });
  await app.register(downloadRoutes, {
    artifactsDir: opts.downloads?.artifactsDir ?? DEFAULT_ARTIFACTS_DIR,
    publicUrl: opts.downloads?.publicUrl,
  });

  await app.register(uiRoutes, {
    sessions: uiSessions,
    apiKeys: repos.apiKeys,
    webDir: opts.ui?.webDir ?? webDir,
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    ...docsBranding,
  });
  return app;
}
