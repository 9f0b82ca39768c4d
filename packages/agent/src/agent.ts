import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { DEFAULT_RETRY_POLICY, type DriftMode, type RetryPolicy, retryPolicyProblem } from '@bosun/core';
import { createNodeFetch } from '@bosun/sdk/node-fetch';
import pino, { type Logger } from 'pino';
import { FileApplier, type Ledger } from './applier.ts';
import { buildInfo } from './build-info.ts';
import { DeploymentCatalog } from './catalog.ts';
import { AgentClient, type AgentDeployment, type DesiredState, NetworkError, type Report } from './client.ts';
import { ContentCache } from './content-cache.ts';
import { DriftWatcher } from './drift-watcher.ts';
import { errorMessage } from './errors.ts';
import { type Identity, loadIdentity } from './identity.ts';
import { AgentDeviceApiSource, type AgentView, type LocalInfo } from './local-api/agent-source.ts';
import { Announcer } from './local-api/announcer.ts';
import { EventLog, type EventLogOptions } from './local-api/event-log.ts';
import { LocalApi } from './local-api/server.ts';
import { Outbox } from './outbox.ts';
import { PushChannel } from './push.ts';
import { Reconciler } from './reconciler.ts';
import { type PassResult, Scheduler } from './scheduler.ts';
import { AgentStore, type RetryState } from './store.ts';
import { loadCaBundle } from './tls.ts';

export interface AgentOptions {
  stateDir: string;
  /** Prefix of every absolute config path (tests, containers, simulation). Default `/`. */
  fsRoot?: string;
  /** Overrides the server URL stored at activation. */
  server?: string;
  logger?: Logger;
  /**
   * Poll for the desired state about this often even without push (default 60 s): each wait is drawn
   * from [interval/2, interval]; while the server is unreachable, retries back off with full jitter
   * from 1 s up to the interval (a few seconds while a hint or a failed download/report is pending).
   */
  pollIntervalMs?: number;
  /** MQTT keep-alive in seconds (default 30): a crashed agent is offline after 1.5 × this. */
  mqttKeepaliveSeconds?: number;
  /** Compare deployed files with their digests this often (default 60 s). */
  driftIntervalMs?: number;
  driftMode?: DriftMode;
  retry?: Partial<RetryPolicy>;
  /** Connect to the push channel (default true). */
  push?: boolean;
  /** Overrides the broker URL returned at activation. */
  mqttUrl?: string;
  /** CA bundle for the server and the broker instead of the one stored at provisioning (`BOSUN_CA_FILE`). */
  caFile?: string;
  /** Serve the on-robot Device API on this Unix socket (the daemon's default is /run/bosun/bosun.sock). */
  socketPath?: string;
  /** Retention of the local event log (default: keep 2000, compact to 1600). */
  eventLog?: EventLogOptions;
}

export interface AgentEvents {
  /** A report was accepted by the server. */
  reported: [{ deployment_id: string; report: Report }];
  /** One reconcile pass finished. */
  reconciled: [];
}

/**
 * The on-robot engine, composed of one module per job: the `Scheduler` (timers, one pass at a time),
 * the `Reconciler` (core's decision per deployment, applied through the journal), the `Outbox` (queued
 * reports), the `ContentCache`, the `DriftWatcher`, the push channel and the local Device API (which
 * sees the agent only through `AgentView`). This class fetches the desired state and wires them.
 * A library so that many agents can run in one process (fleet simulator, benchmarks); the CLI is a
 * thin shell around it.
 */
export class Agent extends EventEmitter<AgentEvents> {
  readonly stateDir: string;
  readonly fsRoot: string;
  readonly logger: Logger;
  private readonly policy: RetryPolicy;
  private readonly applier: FileApplier;
  private readonly store: AgentStore;
  /** Every deployment the server described, kept for the local Device API (works offline). */
  private readonly catalog: DeploymentCatalog;
  private readonly scheduler: Scheduler;
  private events: EventLog | undefined;
  private localApi: LocalApi | undefined;
  private identity!: Identity;
  private client!: AgentClient;
  private outbox!: Outbox;
  private reconciler!: Reconciler;
  private drift!: DriftWatcher;
  private push: PushChannel | undefined;
  private desired: DesiredState | undefined;
  private etag: string | undefined;
  private lastAttemptedSyncAt: string | null = null;
  private lastSyncedAt: string | null = null;

  constructor(private readonly opts: AgentOptions) {
    super();
    this.stateDir = opts.stateDir;
    this.fsRoot = opts.fsRoot ?? '/';
    this.logger = opts.logger ?? pino({ name: 'bosun-agent' });
    this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    const problem = retryPolicyProblem(this.policy);
    if (problem) throw new Error(problem);
    this.applier = new FileApplier(this.stateDir, this.fsRoot);
    this.store = new AgentStore(this.stateDir);
    this.catalog = new DeploymentCatalog(this.stateDir);
    this.scheduler = new Scheduler({
      pollIntervalMs: opts.pollIntervalMs ?? 60_000,
      driftIntervalMs: opts.driftIntervalMs ?? 60_000,
      logger: this.logger,
      pass: () => this.pass(),
      drift: () => this.drift.check(this.desired, () => this.scheduler.isStopped),
      afterPass: () => this.emit('reconciled'),
    });
  }

  get deviceId(): string {
    return this.identity.device.device_id;
  }

  /** Recovers an interrupted apply, then starts the loops; returns once the first pass is scheduled. */
  async start(): Promise<void> {
    this.identity = await loadIdentity(this.stateDir);
    const serverUrl = (this.opts.server ?? this.identity.device.server_url).replace(/\/+$/, '');
    // The server and the broker are verified against the fleet's CA when one was given (docs/decisions.md #85).
    const ca = await loadCaBundle(this.stateDir, this.opts.caFile);
    const client = new AgentClient(serverUrl, this.identity, createNodeFetch({ ca }));
    this.client = client;
    for (const r of await this.applier.recover()) this.logger.warn(r, 'recovered an interrupted apply');
    await this.store.load();
    await this.catalog.load();
    // Outside the identity: event ids survive re-provisioning, so an app's cursor never goes back.
    this.events = new EventLog(join(this.stateDir, 'events'), this.opts.eventLog);
    const log = this.logger;
    this.outbox = new Outbox(
      this.store,
      async (id, report) => {
        await client.report(id, report);
      },
      log,
      (sent) => this.emit('reported', sent),
    );
    const cache = new ContentCache(this.stateDir, (instanceId) => client.content(instanceId));
    this.reconciler = new Reconciler({
      applier: this.applier,
      store: this.store,
      outbox: this.outbox,
      cache,
      announcer: new Announcer(
        () => this.events,
        (id) => this.desired?.deployments.find((x) => x.id === id) ?? this.catalog.get(id),
      ),
      policy: this.policy,
      logger: log,
      stopped: () => this.scheduler.isStopped,
    });
    this.drift = new DriftWatcher({
      applier: this.applier,
      cache,
      outbox: this.outbox,
      logger: log,
      mode: this.opts.driftMode ?? 'restore',
    });
    log.info(
      { device_id: this.deviceId, server: serverUrl, fs_root: this.fsRoot, custom_ca: ca !== undefined },
      'agent starting',
    );
    this.scheduler.start();
    if (this.opts.push !== false) {
      const url =
        this.opts.mqttUrl ?? this.identity.device.mqtt.url ?? `${serverUrl.replace(/^http/, 'ws')}/mqtt`;
      this.push = new PushChannel({
        url,
        deviceId: this.deviceId,
        topicPrefix: this.identity.device.mqtt.topic_prefix || `bosun/v1/devices/${this.deviceId}/`,
        password: (fresh) => client.brokerPassword(fresh),
        onSync: () => this.scheduler.trigger('push'),
        logger: log,
        keepaliveSeconds: this.opts.mqttKeepaliveSeconds,
        ca,
      });
      await this.push.start();
    }
    if (this.opts.socketPath) await this.serveLocalApi(this.opts.socketPath);
    this.scheduler.trigger('start');
  }

  /** Stops the loops, waits for a running apply (bounded) and leaves the broker. */
  async stop(): Promise<void> {
    if (this.scheduler.isStopped) return;
    // First, so no app's event stream holds the shutdown up.
    const api = this.localApi;
    this.localApi = undefined;
    // An apply interrupted by the deadline is safe: the journal rolls it back on the next start.
    await Promise.all([this.scheduler.stop(3_000), api?.close().catch(() => {})]);
    await Promise.race([this.push?.stop().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
    this.events?.close();
    this.events = undefined;
    this.logger.info('agent stopped');
  }

  /** Runs a reconcile that starts after this call and resolves when it is done (on demand sync). */
  sync(): Promise<void> {
    return this.scheduler.trigger('demand');
  }

  /** Runs a drift check now (it also runs periodically). */
  checkDriftNow(): Promise<void> {
    return this.scheduler.exclusive(() => this.drift.check(this.desired, () => this.scheduler.isStopped));
  }

  /** What the agent last heard from the server, and what it keeps (for status output and tests). */
  snapshot() {
    return {
      desired: this.desired,
      outbox: [...this.store.outbox],
      retries: this.store.allRetries(),
      lastSyncedAt: this.lastSyncedAt,
      lastAttemptedSyncAt: this.lastAttemptedSyncAt,
    };
  }

  retryOf(deploymentId: string): RetryState | undefined {
    return this.store.retryOf(deploymentId);
  }

  /** The read-only view the local Device API answers from. */
  view(): AgentView {
    return {
      deviceId: this.deviceId,
      localInfo: () => this.localInfo(),
      deployedFiles: (): Promise<Ledger> => this.applier.ledger(),
      known: (id) => this.catalog.get(id),
      allKnown: () => this.catalog.all(),
      fetchDeployment: (id) => this.fetchDeployment(id),
      retryError: (id) => this.store.retryOf(id)?.error,
      sync: () => this.sync(),
    };
  }

  private localInfo(): LocalInfo {
    return {
      deviceId: this.deviceId,
      name: this.desired?.device.name ?? this.identity.device.name,
      pushConnected: this.push?.connected ?? false,
      lastConnectedAt: this.push?.lastConnectedAt ?? null,
      lastDisconnectedAt: this.push?.lastDisconnectedAt ?? null,
      lastSyncedAt: this.lastSyncedAt,
      lastAttemptedSyncAt: this.lastAttemptedSyncAt,
    };
  }

  private async fetchDeployment(id: string): Promise<AgentDeployment | undefined> {
    try {
      const d = await this.client.deployment(id);
      if (d) await this.catalog.remember([d], new Set(Object.keys(await this.applier.ledger())));
      return d;
    } catch (err) {
      if (err instanceof NetworkError) return undefined;
      throw err;
    }
  }

  private async serveLocalApi(socketPath: string): Promise<void> {
    const api = new LocalApi({
      socketPath,
      source: new AgentDeviceApiSource(this.view()),
      events: this.events!,
      build: buildInfo(),
    });
    try {
      await api.listen();
      this.localApi = api;
      this.logger.info({ socket: socketPath }, 'device API listening');
    } catch (err) {
      // Configs must keep flowing even when the socket cannot be served (path taken, no permission).
      this.logger.error({ socket: socketPath, err: errorMessage(err) }, 'device API unavailable');
    }
  }

  /** One reconcile pass: send queued reports, fetch the desired state (ETag), act on it, send again. */
  private async pass(): Promise<PassResult> {
    this.lastAttemptedSyncAt = new Date().toISOString();
    await this.outbox.flush();
    let reached = false;
    try {
      const answer = await this.client.state(this.etag);
      if (answer !== 'not_modified') {
        this.desired = answer.state;
        this.etag = answer.etag ?? undefined;
        const onDisk = new Set(Object.keys(await this.applier.ledger()));
        await this.catalog.remember(answer.state.deployments, onDisk);
      }
      reached = true;
      this.lastSyncedAt = new Date().toISOString();
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      this.logger.debug({ err: err.message }, 'desired state not fetched');
    }
    let blocked = false;
    let failed = false;
    if (this.desired) ({ blocked, failed } = await this.reconciler.act(this.desired, reached));
    const sent = await this.outbox.flush();
    // A deployment reported failed may be answered by a rollback (docs/decisions.md #21): unfinished
    // work, so the next pass comes within seconds, not at the next poll.
    return { reached, unfinished: blocked || failed || !sent, nextRetryAt: this.store.nextRetryAt() };
  }
}
