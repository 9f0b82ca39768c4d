import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  afterFailure,
  DEFAULT_RETRY_POLICY,
  type DriftMode,
  driftMessage,
  findDrift,
  fullJitterMs,
  jitteredIntervalMs,
  type RetryPolicy,
  retryPolicyProblem,
  shouldLogFailure,
} from '@bosun/core';
import pino, { type Logger } from 'pino';
import { ApplyError, FileApplier, type FileWrite, type Ledger } from './applier.ts';
import { buildInfo } from './build-info.ts';
import { DeploymentCatalog } from './catalog.ts';
import {
  AgentClient,
  type AgentDeployment,
  type DesiredState,
  HttpError,
  NetworkError,
  type Report,
} from './client.ts';
import { fileDigest, replaceFileAtomically, sha256Digest } from './fsutil.ts';
import { filesInPlace, keptWhole } from './handover.ts';
import { type Identity, loadIdentity } from './identity.ts';
import { AgentDeviceApiSource } from './local-api/agent-source.ts';
import { EventLog, type EventLogOptions } from './local-api/event-log.ts';
import { LocalApi } from './local-api/server.ts';
import { PushChannel } from './push.ts';
import { AgentStore, type RetryState } from './store.ts';

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
   * from 1 s up to the interval.
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
 * The on-robot engine: a level-triggered reconcile loop (on start, push, poll and demand) that fetches
 * the desired state, decides per deployment, applies all-or-nothing through the journal, and reports.
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
  readonly catalog: DeploymentCatalog;
  private events: EventLog | undefined;
  private localApi: LocalApi | undefined;
  private identity!: Identity;
  private client!: AgentClient;
  private push: PushChannel | undefined;
  private desired: DesiredState | undefined;
  private etag: string | undefined;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Consecutive reconciles that could not reach the server (backoff and log rate). */
  private serverFailures = 0;
  private requested = false;
  private running: Promise<void> | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private stopped = true;
  /** The drift last reported per deployment, so an unchanged drift (report-only mode) is not re-sent. */
  private readonly reportedDrift = new Map<string, string>();
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
  }

  get deviceId(): string {
    return this.identity.device.device_id;
  }

  /** Recovers an interrupted apply, then starts the loops; returns once the first pass is scheduled. */
  async start(): Promise<void> {
    this.identity = await loadIdentity(this.stateDir);
    const serverUrl = (this.opts.server ?? this.identity.device.server_url).replace(/\/+$/, '');
    this.client = new AgentClient(serverUrl, this.identity);
    for (const r of await this.applier.recover()) this.logger.warn(r, 'recovered an interrupted apply');
    await this.store.load();
    await this.catalog.load();
    // Outside the identity: event ids survive re-provisioning, so an app's cursor never goes back.
    this.events = new EventLog(join(this.stateDir, 'events'), this.opts.eventLog);
    this.stopped = false;
    const log = this.logger;
    log.info({ device_id: this.deviceId, server: serverUrl, fs_root: this.fsRoot }, 'agent starting');
    this.schedulePoll();
    this.timers.push(
      setInterval(() => {
        this.exclusive(() => this.checkDrift()).catch((err) =>
          log.error({ err: String(err) }, 'drift check failed'),
        );
      }, this.opts.driftIntervalMs ?? 60_000),
    );
    if (this.opts.push !== false) {
      const url =
        this.opts.mqttUrl ?? this.identity.device.mqtt.url ?? `${serverUrl.replace(/^http/, 'ws')}/mqtt`;
      this.push = new PushChannel({
        url,
        deviceId: this.deviceId,
        topicPrefix: this.identity.device.mqtt.topic_prefix || `bosun/v1/devices/${this.deviceId}/`,
        password: (fresh) => this.client.accessToken(fresh),
        onSync: () => this.trigger('push'),
        logger: log,
        keepaliveSeconds: this.opts.mqttKeepaliveSeconds,
      });
      await this.push.start();
    }
    if (this.opts.socketPath) await this.serveLocalApi(this.opts.socketPath);
    this.trigger('start');
  }

  /** Stops the loops, waits for a running apply (bounded) and leaves the broker. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.pollTimer);
    // First, so no app's event stream holds the shutdown up.
    await this.localApi?.close().catch(() => {});
    this.localApi = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    // An apply interrupted by the deadline is safe: the journal rolls it back on the next start.
    const bounded = (p: Promise<unknown> | undefined, ms: number) =>
      Promise.race([p?.catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);
    await bounded(this.running, 3_000);
    await bounded(this.push?.stop(), 1_000);
    this.events?.close();
    this.events = undefined;
    this.logger.info('agent stopped');
  }

  /** Runs a reconcile that starts after this call and resolves when it is done (on demand sync). */
  sync(): Promise<void> {
    return this.trigger('demand');
  }

  /** Runs a drift check now (it also runs periodically). */
  checkDriftNow(): Promise<void> {
    return this.exclusive(() => this.checkDrift());
  }

  /** What the agent last heard from the server, and what it has on disk (for the local API). */
  snapshot() {
    return {
      desired: this.desired,
      outbox: [...this.store.outbox],
      retries: { ...this.store.retries },
      lastSyncedAt: this.lastSyncedAt,
      lastAttemptedSyncAt: this.lastAttemptedSyncAt,
    };
  }

  /** Which deployment put which digest at which path (what is on disk, per the journal). */
  deployedFiles() {
    return this.applier.ledger();
  }

  /** What the local Device API reports about the device and its link to the server. */
  localInfo() {
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

  retryOf(deploymentId: string): RetryState | undefined {
    return this.store.retries[deploymentId];
  }

  /** One of this device's deployments from the server (a local miss), or undefined when unknown/offline. */
  async fetchDeployment(id: string): Promise<AgentDeployment | undefined> {
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
      source: new AgentDeviceApiSource(this),
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

  /**
   * Appends a Device API event once per deployment and type (the event log is the memory of what
   * was announced, so a replay after a crash does not repeat it).
   */
  private announce(type: 'deployment.deployed' | 'deployment.removed', deploymentId: string): void {
    const log = this.events;
    if (!log) return;
    if (log.since(0, [type]).some((e) => e.data.deployment_id === deploymentId)) return;
    const d = this.desired?.deployments.find((x) => x.id === deploymentId) ?? this.catalog.get(deploymentId);
    const deployed = type === 'deployment.deployed';
    const now = new Date().toISOString();
    const activity = deployed ? 'deployed' : 'archived';
    log.append(type, {
      deployment_id: deploymentId,
      release_id: d?.release_id ?? null,
      status: activity,
      activity_status: activity,
      error_status: 'none',
      target_status: deployed ? 'deployed' : 'archived',
      ...(deployed ? { deployed_at: now } : { archived_at: now }),
    });
  }

  private trigger(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.logger.debug({ reason }, 'reconcile requested');
    this.requested = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.requested && !this.stopped) {
      this.requested = false;
      try {
        await this.exclusive(() => this.reconcile());
      } catch (err) {
        this.logger.error({ err: String(err) }, 'reconcile failed');
      }
      this.emit('reconciled');
    }
  }

  /** Reconcile and drift check never overlap: each sees the other's finished result. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  private async reconcile(): Promise<void> {
    this.lastAttemptedSyncAt = new Date().toISOString();
    await this.flushOutbox();
    let fresh = false;
    try {
      const answer = await this.client.state(this.etag);
      if (answer !== 'not_modified') {
        this.desired = answer.state;
        this.etag = answer.etag ?? undefined;
        const onDisk = new Set(Object.keys(await this.applier.ledger()));
        await this.catalog.remember(answer.state.deployments, onDisk);
      }
      fresh = true;
      this.lastSyncedAt = new Date().toISOString();
      if (this.serverFailures > 0)
        this.logger.info({ failed_attempts: this.serverFailures }, 'server reachable again');
      this.serverFailures = 0;
      this.schedulePoll();
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      this.serverFailures++;
      // Logged once, then at a backoff (2nd, 4th, 8th, … failure), not on every retry.
      if (shouldLogFailure(this.serverFailures))
        this.logger.warn(
          { err: err.message, failed_attempts: this.serverFailures },
          'server unreachable; working from the last known state',
        );
      this.schedulePoll();
    }
    if (!this.desired) return;
    await this.act(this.desired, fresh);
    await this.flushOutbox();
    this.scheduleRetry();
  }

  /**
   * One pass over the desired state, one deployment at a time. A deployment that fails is recorded
   * and retried later; it never stops the pass.
   */
  private async act(desired: DesiredState, fresh: boolean): Promise<void> {
    const ledger = await this.applier.ledger();
    const byId = new Map(desired.deployments.map((d) => [d.id, d]));
    const targets = desired.deployments.filter(
      (d) => d.target_status === 'deployed' && d.error_status !== 'failed',
    );
    // On disk but no longer wanted: superseded (target archived), or unknown to a fresh desired state.
    const leaving = Object.keys(ledger).filter((id) => {
      const d = byId.get(id);
      return d ? d.target_status !== 'deployed' : fresh;
    });
    for (const d of targets) {
      if (this.stopped) return;
      await this.ensureDeployed(d, ledger, leaving);
    }
    const keep = new Set(targets.flatMap((d) => d.config_instances.map((i) => i.filepath)));
    const now = await this.applier.ledger();
    // While a replacement is still retrying, the robot keeps running on the old files: they are
    // removed (and the old deployment reported archived) in the same transaction that writes the new
    // ones, or here once no replacement is pending any more (it succeeded elsewhere). A replacement
    // that failed holds them too: the server answers with a rollback deployment that takes them over
    // (docs/decisions.md #21); only once the failed one has left the desired state are they removed.
    const pending = targets.filter((d) => !now[d.id]);
    const holding = pending.length > 0 && leaving.some((id) => now[id]);
    if (holding) {
      this.logger.info(
        { waiting_for: pending.map((d) => d.id), keeping: leaving.filter((id) => now[id]) },
        'keeping the files of superseded deployments until their replacement is applied',
      );
    }
    for (const id of holding ? [] : leaving) {
      if (this.stopped || !now[id]) continue;
      const paths = Object.keys(now[id]).filter((p) => !keep.has(p));
      try {
        await this.applier.apply({ writes: [], deletes: paths, ledger: { remove: [id] } });
        this.logger.info({ deployment_id: id, removed: paths }, 'deployment archived');
        this.announce('deployment.removed', id);
      } catch (err) {
        this.logger.error({ deployment_id: id, err: errorMessage(err) }, 'removing files failed');
        continue;
      }
      if (byId.has(id)) await this.report(id, { activity_status: 'archived' });
    }
    // Superseded before it ever reached the disk: nothing to remove, only the status to settle.
    const after = await this.applier.ledger();
    for (const d of desired.deployments) {
      if (d.target_status !== 'archived' || d.activity_status === 'archived' || after[d.id]) continue;
      if (!this.store.pending(d.id, 'archived')) await this.report(d.id, { activity_status: 'archived' });
    }
    if (fresh) await this.forget(byId);
  }

  private async ensureDeployed(d: AgentDeployment, ledger: Ledger, leaving: string[]): Promise<void> {
    const want = Object.fromEntries(d.config_instances.map((i) => [i.filepath, i.content_digest]));
    const have = ledger[d.id];
    if (have && sameFiles(have, want)) {
      // Also covers a crash between the apply's commit and its event: announced once, here.
      this.announce('deployment.deployed', d.id);
      if (d.activity_status !== 'deployed' && !this.store.pending(d.id, 'deployed'))
        await this.report(d.id, { activity_status: 'deployed' });
      return;
    }
    const retry = this.store.retries[d.id];
    if (retry?.error === 'failed') return;
    if (retry?.retry_at && retry.retry_at > Date.now()) return;
    try {
      const writes: FileWrite[] = [];
      const inPlace = await filesInPlace(want, ledger, (p) => this.applier.resolve(p));
      for (const instance of inPlace ? [] : d.config_instances) {
        const content = await this.content(instance.id, instance.content_digest);
        writes.push({ path: instance.filepath, content, digest: instance.content_digest });
      }
      const removing = leaving.filter((id) => ledger[id]);
      const deletes = removing.flatMap((id) => Object.keys(ledger[id]!)).filter((p) => !(p in want));
      await this.applier.apply({ writes, deletes, ledger: { set: { [d.id]: want }, remove: removing } });
      this.logger.info(
        {
          deployment_id: d.id,
          release_version: d.release_version,
          files: Object.keys(want),
          written: writes.length,
          replaced: removing,
        },
        'deployment applied',
      );
      for (const id of removing) if (!keptWhole(ledger[id]!, want)) this.announce('deployment.removed', id);
      this.announce('deployment.deployed', d.id);
      if (retry) {
        delete this.store.retries[d.id];
        await this.store.save();
      }
      for (const id of removing) {
        if (this.desired?.deployments.some((x) => x.id === id))
          await this.report(id, { activity_status: 'archived' });
      }
      await this.report(d.id, { activity_status: 'deployed' });
    } catch (err) {
      await this.failed(d, err);
    }
  }

  private async failed(d: AgentDeployment, err: unknown): Promise<void> {
    if (!(err instanceof ApplyError || err instanceof HttpError || err instanceof NetworkError)) {
      // A bug or an unexpected system error still counts: the deployment must not retry forever.
      this.logger.error({ deployment_id: d.id, err: String(err) }, 'unexpected apply error');
    }
    const network = err instanceof NetworkError;
    const previous = this.store.retries[d.id]?.attempts ?? d.attempts ?? 0;
    const outcome = afterFailure(previous, network, this.policy);
    const message = errorMessage(err);
    if (outcome.error_status === 'failed') {
      this.store.retries[d.id] = { attempts: outcome.attempts, error: 'failed', message, retry_at: null };
      this.logger.error(
        { deployment_id: d.id, attempts: outcome.attempts, err: message },
        'deployment failed',
      );
      await this.report(d.id, { error_status: 'failed', message, attempts: outcome.attempts });
      // The server may answer with a rollback deployment: look again at once.
      this.requested = true;
      return;
    }
    this.store.retries[d.id] = {
      attempts: outcome.attempts,
      error: 'retrying',
      message,
      retry_at: Date.now() + outcome.retryInMs,
    };
    this.logger.warn(
      { deployment_id: d.id, attempts: outcome.attempts, retry_in_ms: outcome.retryInMs, err: message },
      'deployment retrying',
    );
    if (network) await this.store.save();
    else await this.report(d.id, { error_status: 'retrying', message, attempts: outcome.attempts });
  }

  /** Content by digest: from the local cache (works offline), else from the server, always verified. */
  private async content(instanceId: string, digest: string): Promise<Uint8Array> {
    const cached = join(this.stateDir, 'contents', digest.replace(/^sha256:/, ''));
    try {
      const bytes = await readFile(cached);
      if (sha256Digest(bytes) === digest) return bytes;
    } catch {}
    const bytes = await this.client.content(instanceId);
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      throw new ApplyError(
        `content of config instance ${instanceId} has digest ${actual}, expected ${digest}`,
        null,
      );
    }
    // The cache is checked against the digest on every read, so it needs no fsync.
    await mkdir(join(this.stateDir, 'contents'), { recursive: true });
    await replaceFileAtomically(cached, bytes, { mode: 0o600, durable: false });
    return bytes;
  }

  /** Drops retry records and cached contents nothing refers to any more. */
  private async forget(byId: Map<string, AgentDeployment>): Promise<void> {
    let changed = false;
    for (const id of Object.keys(this.store.retries)) {
      if (!byId.has(id)) {
        delete this.store.retries[id];
        changed = true;
      }
    }
    if (changed) await this.store.save();
    const ledger = await this.applier.ledger();
    const used = new Set([
      ...Object.values(ledger).flatMap((files) => Object.values(files)),
      ...[...byId.values()].flatMap((d) => d.config_instances.map((i) => i.content_digest)),
    ]);
    const dir = join(this.stateDir, 'contents');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!used.has(`sha256:${name}`)) await rm(join(dir, name), { force: true });
    }
  }

  /** Queues a report durably, then tries to send the queue. */
  private async report(
    deploymentId: string,
    fields: Omit<Report, 'occurred_at' | 'report_id'>,
  ): Promise<void> {
    await this.store.enqueue(deploymentId, {
      ...fields,
      // The server caps messages (4000 characters); a long system error is cut, not refused.
      ...(fields.message !== undefined ? { message: fields.message.slice(0, 2000) } : {}),
      occurred_at: new Date().toISOString(),
      report_id: randomUUID(),
    });
    await this.flushOutbox();
  }

  /** Sends queued reports in order; stops at the first network error and keeps the rest. */
  private async flushOutbox(): Promise<void> {
    while (this.store.outbox.length > 0) {
      const next = this.store.outbox[0]!;
      try {
        await this.client.report(next.deployment_id, next.report);
        this.emit('reported', next);
      } catch (err) {
        if (err instanceof NetworkError) return;
        if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
          this.logger.error({ err: err.message }, 'the server refuses this device; reports are kept');
          return;
        }
        // A report the server will never accept (e.g. 409 invalid_transition) must not block the rest.
        this.logger.warn(
          { deployment_id: next.deployment_id, err: errorMessage(err) },
          'report refused; dropped',
        );
      }
      this.store.outbox.shift();
      await this.store.save(false);
    }
  }

  /**
   * The next poll, counted from the last reconcile: about the interval while the server answers;
   * after a failure, full-jitter backoff from 1 s capped at the interval, so a fleet recovers within
   * seconds of an outage without coming back in lockstep.
   */
  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    const interval = this.opts.pollIntervalMs ?? 60_000;
    const delay =
      this.serverFailures > 0
        ? fullJitterMs(this.serverFailures - 1, {
            baseMs: Math.min(1_000, interval),
            capMs: interval,
            minMs: Math.min(100, interval),
          })
        : jitteredIntervalMs(interval);
    this.pollTimer = setTimeout(() => this.trigger('poll'), delay);
  }

  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const times = Object.values(this.store.retries)
      .map((r) => r.retry_at)
      .filter((t): t is number => t !== null);
    if (times.length === 0 || this.stopped) return;
    const delay = Math.max(0, Math.min(...times) - Date.now());
    this.retryTimer = setTimeout(() => this.trigger('retry'), delay + 10);
  }

  private async checkDrift(): Promise<void> {
    if (this.stopped) return;
    const ledger = await this.applier.ledger();
    const mode = this.opts.driftMode ?? 'restore';
    for (const [id, files] of Object.entries(ledger)) {
      const d = this.desired?.deployments.find((x) => x.id === id);
      if (d && d.target_status !== 'deployed') continue; // leaving: its files are about to go
      const onDisk: Record<string, string | null> = {};
      for (const path of Object.keys(files)) onDisk[path] = await fileDigest(this.applier.resolve(path));
      const drift = findDrift(files, onDisk);
      if (drift.length === 0) {
        this.reportedDrift.delete(id);
        continue;
      }
      let restored = mode === 'restore';
      if (restored) {
        try {
          const writes: FileWrite[] = [];
          for (const { path } of drift) {
            const instance = d?.config_instances.find((i) => i.filepath === path);
            const content = instance
              ? await this.content(instance.id, files[path]!)
              : await readFile(join(this.stateDir, 'contents', files[path]!.replace(/^sha256:/, '')));
            writes.push({ path, content, digest: files[path]! });
          }
          await this.applier.apply({ writes, deletes: [], ledger: { set: { [id]: files } } });
        } catch (err) {
          restored = false;
          this.logger.error({ deployment_id: id, err: errorMessage(err) }, 'restoring drifted files failed');
        }
      }
      const message = driftMessage(drift, restored ? 'restore' : 'report');
      this.logger.warn({ deployment_id: id, drift }, message);
      const key = JSON.stringify(drift);
      if (!restored && this.reportedDrift.get(id) === key) continue;
      this.reportedDrift.set(id, restored ? '' : key);
      await this.report(id, { activity_status: 'deployed', message, drift });
    }
  }
}

function sameFiles(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function errorMessage(err: unknown): string {
  if (err instanceof HttpError) return `server refused (${err.status} ${err.code}): ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
