import { randomBytes } from 'node:crypto';
import { type CustomValidationMode, newId } from '@bosun/core';
import { type Kysely, SqliteAdapter, sql } from 'kysely';
import type {
  Database,
  WebhookAttemptTable,
  WebhookDeliveryTable,
  WebhookEndpointTable,
} from '../db/schema.ts';
import { nowIso, toIso } from '../db/time.ts';
import { emitEvent, newDelivery } from '../webhooks/events.ts';
import { fetchPage, type Page, type PageRequest } from './list.ts';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (what receivers' libraries take). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** How long the secret replaced by a rotation still signs (docs/decisions.md, webhooks). */
export const PREVIOUS_SECRET_TTL_MS = 24 * 3_600_000;

export interface WebhookEndpointRecord {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  failed_deliveries: number;
  created_at: string;
  updated_at: string;
}

/** The secrets an endpoint's requests are signed with now: the current one and a rotated one in its grace day. */
export interface SigningSecrets {
  current: string;
  previous: string | null;
}

export type DeliveryRow = WebhookDeliveryTable;
export type AttemptRow = WebhookAttemptTable;

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  delivery: DeliveryRow;
  endpoint: { id: string; url: string; secrets: SigningSecrets };
  event: Database['events'];
}

function toRecord(row: WebhookEndpointTable): WebhookEndpointRecord {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: JSON.parse(row.event_types) as string[],
    enabled: Number(row.enabled) === 1,
    disabled_reason: row.disabled_reason,
    failed_deliveries: row.failed_deliveries,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function signingSecrets(
  row: Pick<WebhookEndpointTable, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>,
  now = Date.now(),
): SigningSecrets {
  const previousValid =
    row.previous_secret !== null &&
    row.previous_secret_expires_at !== null &&
    Date.parse(row.previous_secret_expires_at) > now;
  return { current: row.secret, previous: previousValid ? row.previous_secret : null };
}

/**
 * Webhook endpoints, their deliveries and attempts. Deliveries are claimed with a lease: a replica
 * that dies mid-delivery leaves a lease that expires, and another replica (or the restarted one)
 * takes the delivery over. On PostgreSQL the claim skips rows another replica is claiming
 * (`FOR UPDATE SKIP LOCKED`); SQLite has one writer, so its claim is a plain update.
 */
export class WebhookStore {
  private readonly sqlite: boolean;

  constructor(private readonly db: Kysely<Database>) {
    this.sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  }

  async create(input: {
    url: string;
    description: string;
    event_types: string[];
    enabled: boolean;
    secret: string;
  }): Promise<WebhookEndpointRecord> {
    const now = nowIso();
    const row: WebhookEndpointTable = {
      id: newId('webhookEndpoint'),
      url: input.url,
      description: input.description,
      event_types: JSON.stringify(input.event_types),
      enabled: input.enabled ? 1 : 0,
      secret: input.secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      failed_deliveries: 0,
      disabled_reason: null,
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('webhook_endpoints').values(row).execute();
    return toRecord(row);
  }

  async get(id: string): Promise<WebhookEndpointRecord | undefined> {
    const row = await this.row(id);
    return row ? toRecord(row) : undefined;
  }

  private row(id: string) {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Endpoints subscribed to `deployment.validate` by name, enabled, oldest first. */
  async validators(): Promise<{ record: WebhookEndpointRecord; secrets: SigningSecrets }[]> {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('enabled', '=', 1)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows
      .map((r) => ({ record: toRecord(r), secrets: signingSecrets(r) }))
      .filter((e) => e.record.event_types.includes('deployment.validate'));
  }

  async page(filter: { id?: string[] }, page: PageRequest): Promise<Page<WebhookEndpointRecord>> {
    let q = this.db.selectFrom('webhook_endpoints').selectAll();
    if (filter.id?.length) q = q.where('id', 'in', filter.id);
    const result = await fetchPage(q, page);
    return { ...result, rows: result.rows.map(toRecord) };
  }

  /** Re-enabling clears the failure count and the reason it was disabled. */
  async update(
    id: string,
    patch: { url?: string; description?: string; event_types?: string[]; enabled?: boolean },
  ): Promise<WebhookEndpointRecord | undefined> {
    const set: Partial<WebhookEndpointTable> = { updated_at: nowIso() };
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.event_types !== undefined) set.event_types = JSON.stringify(patch.event_types);
    if (patch.enabled !== undefined) {
      set.enabled = patch.enabled ? 1 : 0;
      if (patch.enabled) Object.assign(set, { failed_deliveries: 0, disabled_reason: null });
    }
    await this.db.updateTable('webhook_endpoints').set(set).where('id', '=', id).execute();
    return this.get(id);
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** A new secret; the old one keeps signing (second signature) for `PREVIOUS_SECRET_TTL_MS`. */
  async rotate(id: string, secret: string): Promise<WebhookEndpointRecord | undefined> {
    const row = await this.row(id);
    if (!row) return undefined;
    const now = nowIso();
    await this.db
      .updateTable('webhook_endpoints')
      .set({
        secret,
        previous_secret: row.secret,
        previous_secret_expires_at: toIso(new Date(Date.parse(now) + PREVIOUS_SECRET_TTL_MS)),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  async secrets(id: string): Promise<SigningSecrets | undefined> {
    const row = await this.row(id);
    return row ? signingSecrets(row) : undefined;
  }

  /** A `webhook.test` event delivered to this endpoint only. */
  async sendTest(id: string): Promise<string> {
    return this.db.transaction().execute(async (tx) => {
      const now = nowIso();
      const eventId = newId('event');
      await tx
        .insertInto('events')
        .values({
          id: eventId,
          type: 'webhook.test',
          data: JSON.stringify({ endpoint_id: id, message: 'A test event from Bosun.' }),
          created_at: now,
        })
        .execute();
      await tx
        .insertInto('webhook_deliveries')
        .values(newDelivery(id, eventId, now))
        .execute();
      return eventId;
    });
  }

  // ----- deliveries ------------------------------------------------------------------------------

  async deliveries(
    endpointId: string,
    filter: { status?: DeliveryRow['status'][] | undefined; event_id?: string[] | undefined },
    page: PageRequest,
  ): Promise<Page<DeliveryRow & { event_type: string }>> {
    let q = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select('e.type as event_type')
      .where('d.endpoint_id', '=', endpointId);
    if (filter.status?.length) q = q.where('d.status', 'in', filter.status);
    if (filter.event_id?.length) q = q.where('d.event_id', 'in', filter.event_id);
    return fetchPage(q, page, (f) => `d.${f}`);
  }

  async delivery(
    endpointId: string,
    id: string,
  ): Promise<(DeliveryRow & { event_type: string }) | undefined> {
    return this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select('e.type as event_type')
      .where('d.endpoint_id', '=', endpointId)
      .where('d.id', '=', id)
      .executeTakeFirst();
  }

  async attempts(deliveryIds: readonly string[]): Promise<Map<string, AttemptRow[]>> {
    const out = new Map<string, AttemptRow[]>(deliveryIds.map((id) => [id, []]));
    if (!deliveryIds.length) return out;
    const rows = await this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', 'in', [...new Set(deliveryIds)])
      .orderBy('delivery_id')
      .orderBy('attempt')
      .execute();
    for (const r of rows) out.get(r.delivery_id)!.push(r);
    return out;
  }

  /** Redeliver: the delivery is pending again, due now, with a fresh retry window. */
  async redeliver(endpointId: string, id: string): Promise<void> {
    const now = nowIso();
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        status: 'pending',
        next_attempt_at: now,
        first_attempt_at: null,
        lease_until: null,
        updated_at: now,
      })
      .where('endpoint_id', '=', endpointId)
      .where('id', '=', id)
      .execute();
  }

  async event(id: string): Promise<Database['events'] | undefined> {
    return this.db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Takes up to `limit` due deliveries of enabled endpoints for `leaseMs`. A claimed delivery is
   * invisible to other claims until its lease ends; finishing an attempt clears the lease.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const now = nowIso();
    const leaseUntil = toIso(new Date(Date.parse(now) + leaseMs));
    const due = sql`
      select d.id from webhook_deliveries d
      join webhook_endpoints w on w.id = d.endpoint_id
      where d.status = 'pending' and d.next_attempt_at <= ${now} and w.enabled = 1
        and (d.lease_until is null or d.lease_until < ${now})
      order by d.next_attempt_at, d.id
      limit ${limit}`;
    const claimed = await sql<{ id: string }>`
      update webhook_deliveries set lease_until = ${leaseUntil}
      where id in (${this.sqlite ? due : sql`${due} for update of d skip locked`})
      returning id`.execute(this.db);
    const ids = claimed.rows.map((r) => r.id);
    if (!ids.length) return [];
    const rows = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select([
        'w.url as w_url',
        'w.secret as w_secret',
        'w.previous_secret as w_previous_secret',
        'w.previous_secret_expires_at as w_previous_secret_expires_at',
        'e.type as e_type',
        'e.data as e_data',
        'e.created_at as e_created_at',
      ])
      .where('d.id', 'in', ids)
      .execute();
    return rows.map((r) => ({
      delivery: {
        id: r.id,
        endpoint_id: r.endpoint_id,
        event_id: r.event_id,
        status: r.status,
        attempts: r.attempts,
        next_attempt_at: r.next_attempt_at,
        first_attempt_at: r.first_attempt_at,
        lease_until: r.lease_until,
        last_status_code: r.last_status_code,
        last_error: r.last_error,
        delivered_at: r.delivered_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
      },
      endpoint: {
        id: r.endpoint_id,
        url: r.w_url,
        secrets: signingSecrets({
          secret: r.w_secret,
          previous_secret: r.w_previous_secret,
          previous_secret_expires_at: r.w_previous_secret_expires_at,
        }),
      },
      event: { id: r.event_id, type: r.e_type, data: r.e_data, created_at: r.e_created_at },
    }));
  }

  /**
   * Records attempts and their outcomes, a batch in one transaction: delivered; pending again at
   * `retryAt`; or failed for good, which counts against the endpoint and disables it (with a
   * `webhook_endpoint.disabled` event) at `disableAfter` consecutive failed deliveries.
   */
  async finishAttempts(attempts: AttemptOutcome[], disableAfter: number): Promise<void> {
    if (!attempts.length) return;
    // One lock order for every process (by delivery id), so two flushes never deadlock.
    const ordered = [...attempts].sort((a, b) => (a.delivery.id < b.delivery.id ? -1 : 1));
    await this.db.transaction().execute(async (tx) => {
      for (const input of ordered) await finishOne(tx, input, disableAfter);
    });
  }

  /**
   * One batch of outbox pruning (docs/decisions.md #89): up to `batch` deliveries delivered
   * before `before` (with their attempts), then, when none are left, up to `batch` events created
   * before `before` that no delivery refers to any more. Deliveries still pending or failed are never
   * pruned, nor their events. Rows another replica is pruning are skipped (PostgreSQL `SKIP LOCKED`).
   */
  async pruneBatch(before: string, batch: number): Promise<{ deliveries: number; events: number }> {
    return this.db.transaction().execute(async (tx) => {
      const deliveries = (
        await tx
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'delivered')
          // Through the (status, next_attempt_at) index: the last attempt was due before delivery.
          .where('next_attempt_at', '<', before)
          .where('delivered_at', '<', before)
          .orderBy('next_attempt_at')
          .limit(batch)
          .$if(!this.sqlite, (q) => q.forUpdate().skipLocked())
          .execute()
      ).map((r) => r.id);
      if (deliveries.length) {
        await tx.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
        const r = await tx
          .deleteFrom('webhook_deliveries')
          .where('id', 'in', deliveries)
          .where('status', '=', 'delivered')
          .executeTakeFirst();
        return { deliveries: Number(r.numDeletedRows), events: 0 };
      }
      const events = (
        await tx
          .selectFrom('events as e')
          .select('e.id')
          .where('e.created_at', '<', before)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'e.id'),
              ),
            ),
          )
          .orderBy('e.created_at')
          .limit(batch)
          .$if(!this.sqlite, (q) => q.forUpdate().skipLocked())
          .execute()
      ).map((r) => r.id);
      if (!events.length) return { deliveries: 0, events: 0 };
      const r = await tx.deleteFrom('events').where('id', 'in', events).executeTakeFirst();
      return { deliveries: 0, events: Number(r.numDeletedRows) };
    });
  }

  /** Counts by status (the benchmark and tests). */
  async countDeliveries(endpointId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('endpoint_id', '=', endpointId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  // ----- custom validation of releases ------------------------------------------------------------

  async validationMode(releaseId: string): Promise<CustomValidationMode | null> {
    const row = await this.db
      .selectFrom('release_validations')
      .select('mode')
      .where('release_id', '=', releaseId)
      .executeTakeFirst();
    return row?.mode ?? null;
  }

  async setValidationMode(releaseId: string, mode: CustomValidationMode | null): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('release_validations').where('release_id', '=', releaseId).execute();
      if (mode) {
        await tx
          .insertInto('release_validations')
          .values({ release_id: releaseId, mode, updated_at: nowIso() })
          .execute();
      }
    });
  }
}

export interface AttemptOutcome {
  delivery: DeliveryRow;
  startedAt: string;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
  outcome: { kind: 'delivered' } | { kind: 'retry'; at: string; delayMs: number } | { kind: 'failed' };
}

async function finishOne(tx: Kysely<Database>, input: AttemptOutcome, disableAfter: number): Promise<void> {
  const d = input.delivery;
  const now = nowIso();
  const attempt = d.attempts + 1;
  const o = input.outcome;
  const owned = await tx
    .updateTable('webhook_deliveries')
    .set({
      attempts: attempt,
      first_attempt_at: d.first_attempt_at ?? input.startedAt,
      lease_until: null,
      last_status_code: input.statusCode,
      last_error: input.error,
      updated_at: now,
      status: o.kind === 'retry' ? 'pending' : o.kind,
      ...(o.kind === 'retry' ? { next_attempt_at: o.at } : {}),
      ...(o.kind === 'delivered' ? { delivered_at: now } : {}),
    })
    .where('id', '=', d.id)
    // Still ours: a lease that ran out may have been taken by another process, which records its own attempt.
    .$if(d.lease_until !== null, (q) => q.where('lease_until', '=', d.lease_until!))
    .executeTakeFirst();
  if (Number(owned.numUpdatedRows) === 0) return;
  await tx
    .insertInto('webhook_attempts')
    .values({
      id: newId('webhookAttempt'),
      delivery_id: d.id,
      attempt,
      started_at: input.startedAt,
      status_code: input.statusCode,
      latency_ms: input.latencyMs,
      response_excerpt: input.responseExcerpt,
      error: input.error,
      retry_delay_ms: input.outcome.kind === 'retry' ? input.outcome.delayMs : null,
    })
    .execute();
  if (o.kind === 'delivered') {
    await tx
      .updateTable('webhook_endpoints')
      .set({ failed_deliveries: 0 })
      .where('id', '=', d.endpoint_id)
      .where('failed_deliveries', '>', 0)
      .execute();
  } else if (o.kind === 'failed') {
    await tx
      .updateTable('webhook_endpoints')
      .set((eb) => ({ failed_deliveries: eb('failed_deliveries', '+', 1) }))
      .where('id', '=', d.endpoint_id)
      .execute();
    const ep = await tx
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', d.endpoint_id)
      .executeTakeFirst();
    if (ep && Number(ep.enabled) === 1 && ep.failed_deliveries >= disableAfter) {
      const reason = `Disabled after ${ep.failed_deliveries} consecutive failed deliveries.`;
      await tx
        .updateTable('webhook_endpoints')
        .set({ enabled: 0, disabled_reason: reason, updated_at: now })
        .where('id', '=', ep.id)
        .execute();
      await emitEvent(tx, 'webhook_endpoint.disabled', {
        webhook_endpoint: { id: ep.id, url: ep.url, reason },
      });
    }
  }
}
