import { BosunError, deviceStatus, grants } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { toIso } from '../db/time.ts';
import { errorResponses } from '../http/schemas.ts';
import { toDeploymentEvent } from '../views/deployments.ts';

/** One platform event as the stream sends it: `event: <type>`, `id: <cursor>` when resumable. */
export interface PlatformEvent {
  type: string;
  /** Resume point after this event; absent for events that are not replayed (presence). */
  cursor?: string;
  /** The scope a reader needs to see it. */
  scope: string;
  data: Record<string, unknown>;
}

/**
 * Where the stream's events come from: the one seam to switch to the platform events table (the
 * webhooks outbox) later. `read(null)` starts at "now"; `read(cursor)` returns what came after it.
 */
export interface PlatformEventFeed {
  start(): Promise<string>;
  read(cursor: string, limit: number): Promise<{ events: PlatformEvent[]; cursor: string }>;
}

/** The `occurred_at` + id of a deployment event, so ties within a millisecond are still ordered. */
function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      !Number.isNaN(Date.parse(v[0]))
    )
      return [v[0], v[1]];
  } catch {}
  throw new BosunError(400, 'invalid_cursor', 'Last-Event-ID is not a cursor this stream gave out.', {
    header: 'Last-Event-ID',
  });
}

/** Deployment status changes from `deployment_events`, in (occurred_at, id) order. */
export class DeploymentEventFeed implements PlatformEventFeed {
  constructor(private readonly db: Kysely<Database>) {}

  async start(): Promise<string> {
    const last = await this.db
      .selectFrom('deployment_events')
      .select(['occurred_at', 'id'])
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return last
      ? encodeCursor(toIso(last.occurred_at), last.id)
      : encodeCursor(new Date(0).toISOString(), '');
  }

  async read(cursor: string, limit: number) {
    const [at, id] = decodeCursor(cursor);
    const rows = await this.db
      .selectFrom('deployment_events')
      .selectAll()
      .where((eb) =>
        eb.or([eb('occurred_at', '>', at), eb.and([eb('occurred_at', '=', at), eb('id', '>', id)])]),
      )
      .orderBy('occurred_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    let next = cursor;
    const events = rows.map((row): PlatformEvent => {
      next = encodeCursor(toIso(row.occurred_at), row.id);
      const event = toDeploymentEvent({ ...row, occurred_at: toIso(row.occurred_at) });
      return { type: 'deployment.status_changed', cursor: next, scope: 'deployments:read', data: event };
    });
    return { events, cursor: next };
  }
}

/**
 * Presence changes: devices whose MQTT session opened or closed since the last look (with an overlap
 * window, deduplicated per stream by the last status sent). Not replayed: a reader that reconnects
 * reloads the device list anyway.
 */
export class PresenceFeed {
  private readonly sent = new Map<string, string>();
  private since: string;
  constructor(
    private readonly db: Kysely<Database>,
    now = Date.now(),
  ) {
    this.since = new Date(now).toISOString();
  }

  async read(now = Date.now()): Promise<PlatformEvent[]> {
    const since = this.since;
    // Rows committed late carry an earlier timestamp: look back a little and deduplicate.
    this.since = new Date(now - 5_000).toISOString();
    const rows = await this.db
      .selectFrom('devices')
      .select([
        'id',
        'name',
        'status',
        'last_connected_at',
        'last_disconnected_at',
        'last_seen_at',
        'agent_version',
      ])
      .where((eb) => eb.or([eb('last_connected_at', '>=', since), eb('last_disconnected_at', '>=', since)]))
      .limit(1000)
      .execute();
    const events: PlatformEvent[] = [];
    for (const row of rows) {
      const status = deviceStatus(
        {
          status: row.status,
          last_connected_at: row.last_connected_at && toIso(row.last_connected_at),
          last_disconnected_at: row.last_disconnected_at && toIso(row.last_disconnected_at),
          last_seen_at: row.last_seen_at && toIso(row.last_seen_at),
        },
        now,
      );
      if (this.sent.get(row.id) === status) continue;
      this.sent.set(row.id, status);
      events.push({
        type: 'device.presence',
        scope: 'devices:read',
        data: {
          object: 'device_presence',
          device_id: row.id,
          name: row.name,
          status,
          agent_version: row.agent_version,
        },
      });
    }
    return events;
  }
}

export interface EventStreamOptions {
  db: Kysely<Database>;
  feed?: PlatformEventFeed;
  /** How often an open stream looks for new events (default 1 s). */
  pollMs?: number;
  /** Comment line keeping idle connections (and proxies) open (default 15 s). */
  heartbeatMs?: number;
}

/**
 * `GET /beta/events/stream` (extension): server-sent events of the platform, for the dashboard and
 * scripts. Authenticated like every /beta route (key or session cookie); each event is sent only to
 * readers holding its scope. Resumable with `Last-Event-ID` (deployment events).
 */
export const eventStreamRoutes: FastifyPluginAsyncTypebox<EventStreamOptions> = async (app, opts) => {
  const feed = opts.feed ?? new DeploymentEventFeed(opts.db);
  const pollMs = opts.pollMs ?? 1_000;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get(
    '/events/stream',
    {
      config: { scopes: ['deployments:read', 'devices:read'] },
      schema: {
        'x-bosun-extension': true,
        tags: ['Events'],
        operationId: 'streamEvents',
        summary: 'Event stream',
        description:
          'Extension: server-sent events (`text/event-stream`) of the platform: `deployment.status_changed` (data: a Deployment Event; needs deployments:read; resumable with `Last-Event-ID`) and `device.presence` (needs devices:read). A comment line is sent every 15 s.',
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 200 })) }),
        response: {
          200: {
            description: 'An endless text/event-stream.',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const granted = request.principal?.scopes ?? [];
      const lastId = request.headers['last-event-id'];
      let cursor = typeof lastId === 'string' && lastId ? lastId : await feed.start();
      decodeCursor(cursor);
      const presence = grants(granted, 'devices:read') ? new PresenceFeed(opts.db) : undefined;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n: connected\n\n`);

      let ended = false;
      let timer: NodeJS.Timeout | undefined;
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        clearInterval(heartbeat);
        open.delete(end);
        res.end();
      };
      open.add(end);
      request.raw.on('close', end);

      const send = (e: PlatformEvent) => {
        if (!grants(granted, e.scope)) return;
        res.write(
          `${e.cursor ? `id: ${e.cursor}\n` : ''}event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`,
        );
      };
      const poll = async () => {
        try {
          for (;;) {
            const page = await feed.read(cursor, 200);
            cursor = page.cursor;
            for (const e of page.events) send(e);
            if (page.events.length < 200) break;
          }
          for (const e of (await presence?.read()) ?? []) send(e);
        } catch (err) {
          request.log.warn({ err }, 'event stream poll failed');
        }
        if (!ended) timer = setTimeout(poll, pollMs);
      };
      await poll();
    },
  );
};
