import { type AnnouncedPresence, BosunError, conflict, randomBase62 } from '@bosun/core';
import type { Kysely } from 'kysely';
import { uniqueViolation } from '../db/errors.ts';
import type { Database, DeviceIdentityTable } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { hashApiKey as hashSecret } from './api-keys.ts';
import type { DeviceRow } from './devices.ts';
import { announcePresence } from './presence.ts';

/** Opaque token prefixes, so secret scanners can tell an activation token from a device access token. */
export const ACTIVATION_TOKEN_PREFIX = 'bsn_act_';
export const ACCESS_TOKEN_PREFIX = 'bsn_dat_';
export const ACTIVATION_TOKEN_TTL_MS = 30 * 60_000;
export const ACCESS_TOKEN_TTL_MS = 60 * 60_000;
/** Agent contact is written at most this often per device: enough for the 60 s rule, cheap to poll. */
export const SEEN_WRITE_INTERVAL_MS = 15_000;

export interface IssuedToken {
  token: string;
  expires_at: string;
}

/** What an access token proves: which device is calling, and enough presence state to skip needless writes. */
export interface AgentPrincipal {
  device_id: string;
  name: string;
  agent_version: string | null;
  last_seen_at: string | null;
  last_disconnected_at: string | null;
  /** The presence last announced by an event: anything but `online` makes contact check for `device.online`. */
  presence_announced: AnnouncedPresence;
  expires_at: string;
}

const unauthenticated = (code: string, message: string, params: Record<string, unknown> = {}) =>
  new BosunError(401, code, message, params);

const later = (ms: number) => new Date(Date.now() + ms).toISOString();

/**
 * Device identity and credentials: activation tokens (single use, bound to one device, 30 minutes),
 * the device's registered public key, and the hourly access tokens issued against proof of
 * possession. Only hashes of tokens are stored. Presence (connection events and last contact) is
 * recorded here too, since the same agent contacts drive it.
 */
export class DeviceIdentityStore {
  constructor(private readonly db: Kysely<Database>) {}

  async issueActivationToken(deviceId: string, allowReactivation: boolean): Promise<IssuedToken> {
    const token = ACTIVATION_TOKEN_PREFIX + randomBase62(32);
    const expires_at = later(ACTIVATION_TOKEN_TTL_MS);
    await this.db
      .insertInto('device_activation_tokens')
      .values({
        token_hash: hashSecret(token),
        device_id: deviceId,
        allow_reactivation: allowReactivation ? 1 : 0,
        expires_at,
        used_at: null,
        created_at: nowIso(),
      })
      .execute();
    return { token, expires_at };
  }

  /**
   * Spends an activation token and registers the device's key: the device becomes `activating`
   * until the agent proves possession of the key. Reactivation replaces the key and revokes every
   * access token the old key obtained. All or nothing: a refused activation changes nothing.
   */
  async activate(input: {
    token: string;
    publicKeyPem: string;
    fingerprint: string;
    agentVersion: string;
    hostname: string | null;
  }): Promise<DeviceRow> {
    return this.db.transaction().execute(async (tx) => {
      const now = nowIso();
      const tokenHash = hashSecret(input.token);
      // Spend the token first: on PostgreSQL the UPDATE waits for a racing activation's row lock, so
      // every later statement of this transaction sees the winner's writes, and a loser learns
      // "already used" rather than a half-seen "device already activated". A refusal below rolls
      // the spend back.
      const spent = await tx
        .updateTable('device_activation_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      const row = await tx
        .selectFrom('device_activation_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row)
        throw unauthenticated('invalid_activation_token', 'The activation token is unknown.', {
          field: 'token',
        });
      if (Number(spent.numUpdatedRows) !== 1) {
        throw unauthenticated(
          'activation_token_used',
          'The activation token was already used; issue a new one.',
          {
            field: 'token',
          },
        );
      }
      if (Date.parse(row.expires_at) <= Date.now()) {
        throw unauthenticated(
          'activation_token_expired',
          'The activation token has expired; issue a new one.',
          {
            field: 'token',
            expired_at: row.expires_at,
          },
        );
      }
      const device = await tx
        .selectFrom('devices')
        .selectAll()
        .where('id', '=', row.device_id)
        .executeTakeFirstOrThrow();
      const identity = await tx
        .selectFrom('device_identities')
        .select('device_id')
        .where('device_id', '=', device.id)
        .executeTakeFirst();
      if ((identity || device.status !== 'inactive') && !row.allow_reactivation) {
        throw conflict(
          'device_already_activated',
          `Device ${device.id} was activated before; issue a token with allow_reactivation=true to reactivate it.`,
          { device_id: device.id, allow_reactivation: false },
        );
      }
      const identityRow: DeviceIdentityTable = {
        device_id: device.id,
        public_key_pem: input.publicKeyPem,
        key_fingerprint: input.fingerprint,
        hostname: input.hostname,
        activated_at: now,
        updated_at: now,
      };
      if (identity) {
        const { device_id: _id, ...changes } = identityRow;
        await tx.updateTable('device_identities').set(changes).where('device_id', '=', device.id).execute();
      } else {
        await tx.insertInto('device_identities').values(identityRow).execute();
      }
      await tx.deleteFrom('device_access_tokens').where('device_id', '=', device.id).execute();
      const changes = { status: 'activating' as const, agent_version: input.agentVersion, updated_at: now };
      await tx.updateTable('devices').set(changes).where('id', '=', device.id).execute();
      return { ...device, ...changes };
    });
  }

  async identity(deviceId: string): Promise<DeviceIdentityTable | undefined> {
    return this.db
      .selectFrom('device_identities')
      .selectAll()
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
  }

  /**
   * Issues an access token for a verified device JWT. The JWT's `jti` is remembered until it expires,
   * so the same JWT is accepted once. The first token completes activation (`activating` → `online`).
   */
  async issueAccessToken(input: {
    deviceId: string;
    jti: string;
    jwtExpiresAt: string;
    agentVersion?: string | undefined;
  }): Promise<IssuedToken> {
    const token = ACCESS_TOKEN_PREFIX + randomBase62(40);
    const expires_at = later(ACCESS_TOKEN_TTL_MS);
    const replayed = () =>
      unauthenticated(
        'device_jwt_replayed',
        'This device JWT was already used; sign a new one with a fresh jti.',
        {
          field: 'jti',
        },
      );
    await this.db
      .transaction()
      .execute(async (tx) => {
        const now = nowIso();
        await tx.deleteFrom('device_jwt_ids').where('expires_at', '<', now).execute();
        const seen = await tx
          .selectFrom('device_jwt_ids')
          .select('jti')
          .where('jti', '=', input.jti)
          .executeTakeFirst();
        if (seen) throw replayed();
        await tx
          .insertInto('device_jwt_ids')
          .values({ jti: input.jti, device_id: input.deviceId, expires_at: input.jwtExpiresAt })
          .execute();
        await tx
          .deleteFrom('device_access_tokens')
          .where('device_id', '=', input.deviceId)
          .where('expires_at', '<', now)
          .execute();
        await tx
          .insertInto('device_access_tokens')
          .values({ token_hash: hashSecret(token), device_id: input.deviceId, expires_at, created_at: now })
          .execute();
        await tx
          .updateTable('devices')
          .set({ status: 'online', updated_at: now })
          .where('id', '=', input.deviceId)
          .where('status', '=', 'activating')
          .execute();
        await tx
          .updateTable('devices')
          .set({
            last_seen_at: now,
            ...(input.agentVersion ? { agent_version: input.agentVersion } : {}),
          })
          .where('id', '=', input.deviceId)
          .execute();
        // A token exchange is contact: a device new or back from silence is announced online now.
        await announcePresence(tx, { deviceId: input.deviceId });
      })
      // Two requests racing with the same JWT: the primary key on `jti` lets only one through.
      .catch((err) => {
        throw uniqueViolation(err)?.table === 'device_jwt_ids' ? replayed() : err;
      });
    return { token, expires_at };
  }

  /** The device an unexpired access token belongs to, or undefined. */
  async authenticateAccessToken(token: string): Promise<AgentPrincipal | undefined> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
    const row = await this.db
      .selectFrom('device_access_tokens as t')
      .innerJoin('devices as d', 'd.id', 't.device_id')
      .select([
        'd.id as device_id',
        'd.name',
        'd.agent_version',
        'd.last_seen_at',
        'd.last_disconnected_at',
        'd.presence_announced',
        't.expires_at',
      ])
      .where('t.token_hash', '=', hashSecret(token))
      .where('t.expires_at', '>', nowIso())
      .executeTakeFirst();
    return row
      ? {
          ...row,
          last_seen_at: row.last_seen_at ?? null,
          last_disconnected_at: row.last_disconnected_at ?? null,
          presence_announced: row.presence_announced ?? null,
        }
      : undefined;
  }

  /**
   * Records agent contact; callers skip it unless `contactWriteDue` (core) says it is due. With
   * `announce` (the device was not announced online) the contact and its `device.online` are one
   * transaction.
   */
  async touch(deviceId: string, agentVersion?: string | undefined, announce = false): Promise<void> {
    const write = (db: Kysely<Database>) =>
      db
        .updateTable('devices')
        .set({ last_seen_at: nowIso(), ...(agentVersion ? { agent_version: agentVersion } : {}) })
        .where('id', '=', deviceId)
        .where('status', '!=', 'inactive')
        .execute();
    if (!announce) {
      await write(this.db);
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      await write(tx);
      await announcePresence(tx, { deviceId });
    });
  }

  /**
   * Emits the presence events the no-contact rule makes due (docs/decisions.md #88): devices
   * silent for the 60 s window are announced offline, devices back online announced online, up to
   * `batch` per transaction. Safe on every replica at once: each announcement is claimed once.
   */
  async sweepPresence(batch = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const emitted = await this.db.transaction().execute((tx) => announcePresence(tx, { limit: batch }));
      total += emitted.length;
      if (emitted.length < batch) return total;
    }
  }

  /**
   * An MQTT session opened. With `onlyIfDisconnected` (presence messages, which every replica
   * receives, and retained copies replayed on subscribe) it is a no-op while already connected.
   */
  async recordConnected(
    deviceId: string,
    opts: { agentVersion?: string | undefined; onlyIfDisconnected?: boolean } = {},
  ): Promise<void> {
    const now = nowIso();
    await this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('devices')
        .set({
          last_connected_at: now,
          last_seen_at: now,
          ...(opts.agentVersion ? { agent_version: opts.agentVersion } : {}),
        })
        .where('id', '=', deviceId)
        .where('status', '!=', 'inactive')
        .$if(!!opts.onlyIfDisconnected, (q) =>
          q.where((eb) =>
            eb.or([
              eb('last_connected_at', 'is', null),
              eb.and([
                eb('last_disconnected_at', 'is not', null),
                eb('last_disconnected_at', '>=', eb.ref('last_connected_at')),
              ]),
            ]),
          ),
        )
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) await announcePresence(tx, { deviceId });
    });
  }

  /**
   * An MQTT session closed (or its last will arrived); a no-op unless a session was open. The end is
   * not contact (`last_seen_at` stays): a closed session shows the device offline at once
   * (`deviceStatus` in core), until the agent is heard from again.
   */
  async recordDisconnected(deviceId: string): Promise<void> {
    const now = nowIso();
    await this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('devices')
        .set({ last_disconnected_at: now })
        .where('id', '=', deviceId)
        .where('last_connected_at', 'is not', null)
        .where((eb) =>
          eb.or([
            eb('last_disconnected_at', 'is', null),
            eb('last_disconnected_at', '<', eb.ref('last_connected_at')),
          ]),
        )
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) await announcePresence(tx, { deviceId });
    });
  }

  /** Updates the agent version a presence message announced, when it differs. */
  async recordAgentVersion(deviceId: string, agentVersion: string): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ agent_version: agentVersion })
      .where('id', '=', deviceId)
      .where('status', '!=', 'inactive')
      .where((eb) => eb.or([eb('agent_version', 'is', null), eb('agent_version', '!=', agentVersion)]))
      .execute();
  }

  /** Devices whose last recorded MQTT session has not ended (what a broker reconnect must re-check). */
  async openSessions(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('devices')
      .select('id')
      .where('last_connected_at', 'is not', null)
      .where((eb) =>
        eb.or([
          eb('last_disconnected_at', 'is', null),
          eb('last_disconnected_at', '<', eb.ref('last_connected_at')),
        ]),
      )
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * The embedded broker starts with no sessions: any session still recorded as open was cut when the
   * previous process stopped without recording it, so it is closed now.
   */
  async closeOpenSessions(): Promise<number> {
    const now = nowIso();
    const r = await this.db
      .updateTable('devices')
      .set({ last_disconnected_at: now })
      .where('last_connected_at', 'is not', null)
      .where((eb) =>
        eb.or([
          eb('last_disconnected_at', 'is', null),
          eb('last_disconnected_at', '<', eb.ref('last_connected_at')),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
