import {
  DEPLOYMENT_STATUSES,
  DEVICE_STATUSES,
  type DeviceStatus,
  deriveStatus,
  grants,
  parsePage,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { errorResponses } from '../http/schemas.ts';
import { deviceSelection } from '../storage/device-selection.ts';
import { inGroups, matchingTags } from '../storage/groups.ts';
import type { Repositories } from '../storage/index.ts';
import { presenceIs } from '../storage/presence.ts';
import { toDevice } from '../views/devices.ts';

const EXTENSION = { 'x-bosun-extension': true } as const;
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

type DevicesEb = ExpressionBuilder<Database, 'devices'>;

const FleetDevice = Type.Object(
  {
    object: Type.Literal('fleet_device'),
    device: Type.Ref('Device'),
    current_deployment: Type.Union([
      Type.Object({
        id: Type.String(),
        release_id: Type.String(),
        release_version: Type.Union([Type.String(), Type.Null()], {
          description: 'Null without releases:read.',
        }),
        status: literals(DEPLOYMENT_STATUSES),
      }),
      Type.Null(),
    ]),
    staged_deployments: Type.Integer({ description: 'Deployments waiting in the staging area.' }),
    group_id: Type.Union([Type.String(), Type.Null()], {
      description: "The device's group; null when none.",
    }),
    tags: Type.Record(Type.String(), Type.String(), { description: "The device's tags." }),
  },
  { title: 'Fleet Device' },
);

const FleetQuery = Type.Object({
  q: Type.Optional(
    Type.String({ maxLength: 100, description: 'Part of the device name (case-insensitive).' }),
  ),
  status: Type.Optional(Type.Array(literals(DEVICE_STATUSES), { description: 'Device presence.' })),
  deployment_status: Type.Optional(
    Type.Array(literals([...DEPLOYMENT_STATUSES, 'none']), {
      description: 'Status of the current deployment; `none`: no current deployment.',
    }),
  ),
  release_id: Type.Optional(Type.Array(Type.String(), { description: 'Release of the current deployment.' })),
  staged: Type.Optional(
    Type.Boolean({ description: 'Only devices with (true) or without (false) staged deployments.' }),
  ),
  group_id: Type.Optional(Type.Array(Type.String(), { description: 'Members of these groups.' })),
  include_subgroups: Type.Optional(
    Type.Boolean({ description: 'With group_id, members of their subgroups too.' }),
  ),
  tag_selector: Type.Optional(
    Type.String({
      maxLength: 1000,
      description: "A tag selector such as 'env=prod,site in (berlin|munich),!retired'.",
    }),
  ),
  offset: Type.Optional(Type.Integer()),
  limit: Type.Optional(Type.Integer({ default: 50, description: 'Page size; clamped to 1..100.' })),
});

/** `like` pattern matching `text` anywhere, with the wildcards of the text escaped. */
const containsPattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const stagedOf = (eb: DevicesEb) =>
  eb
    .selectFrom('deployments as s')
    .whereRef('s.device_id', '=', 'devices.id')
    .where('s.target_status', '=', 'staged')
    .where('s.activity_status', 'in', ['staged', 'drifted']);
const stagedCount = (eb: DevicesEb) => stagedOf(eb).select((e) => e.fn.countAll<string | number>().as('n'));
const stagedExists = (eb: DevicesEb) => stagedOf(eb).select(sql<number>`1`.as('one'));

/**
 * The dashboard's fleet view (extension): every device with its presence, current deployment and
 * release, and staged work, filtered and paged in the database; and the summary bar's counts.
 */
export const fleetRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database>; repos: Repositories }> = async (
  app,
  { db, repos },
) => {
  const tags = ['Fleet'];

  app.get(
    '/fleet',
    {
      config: { scopes: ['devices:read'], alsoScopes: ['deployments:read'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'listFleet',
        summary: 'Fleet',
        description:
          'Extension: devices with presence, current deployment (and release), staged deployments, group and tags; filtered (as the device list: group with subgroups, tag selector) and paged in the database, sorted by name. Needs devices:read and deployments:read.',
        querystring: FleetQuery,
        response: {
          200: Type.Object({
            object: Type.Literal('list'),
            total_count: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
            has_more: Type.Boolean(),
            data: Type.Array(FleetDevice),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { offset, limit } = parsePage(q.offset, q.limit ?? 50);
      const now = Date.now();
      let query = db
        .selectFrom('devices')
        .leftJoin('deployments as c', (j) =>
          j.onRef('c.device_id', '=', 'devices.id').on('c.target_status', '=', 'deployed'),
        )
        .leftJoin('releases as r', 'r.id', 'c.release_id');
      if (q.q)
        query = query.where(sql`lower(devices.name)`, 'like', sql`${containsPattern(q.q)} escape '\\'`);
      if (q.status?.length) {
        const statuses = q.status;
        query = query.where((eb) =>
          eb.or(statuses.map((s) => presenceIs(eb as DevicesEb, s as DeviceStatus, now))),
        );
      }
      // The device list's selection rules (subgroups resolved, selector parsed: a bad one is a 400).
      const selection = await deviceSelection(repos.groups, q);
      if (selection.group_id) {
        const groups = selection.group_id;
        query = query.where((eb) => inGroups(groups)(eb as DevicesEb));
      }
      if (selection.tags?.length) {
        const tags = selection.tags;
        query = query.where((eb) => matchingTags(tags)(eb as DevicesEb));
      }
      if (q.release_id?.length) query = query.where('c.release_id', 'in', q.release_id);
      if (q.deployment_status?.length) {
        const wanted = q.deployment_status;
        query = query.where((eb) =>
          eb.or(
            wanted.map((s) => {
              if (s === 'none') return eb('c.id', 'is', null);
              if (s === 'failed' || s === 'retrying') return eb('c.error_status', '=', s);
              return eb.and([
                eb('c.error_status', '=', 'none'),
                eb('c.activity_status', '=', s as 'deployed'),
              ]);
            }),
          ),
        );
      }
      if (q.staged !== undefined) {
        const staged = q.staged;
        query = query.where((eb) =>
          staged
            ? eb.exists(stagedExists(eb as DevicesEb))
            : eb.not(eb.exists(stagedExists(eb as DevicesEb))),
        );
      }
      const counted = await query
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .executeTakeFirstOrThrow();
      const rows = await query
        .selectAll('devices')
        .select([
          'c.id as c_id',
          'c.release_id as c_release_id',
          'c.activity_status as c_activity',
          'c.error_status as c_error',
          'r.version as r_version',
        ])
        .select((eb) => stagedCount(eb as DevicesEb).as('staged_n'))
        .orderBy('devices.name')
        .orderBy('devices.id')
        .limit(limit + 1)
        .offset(offset)
        .execute();
      const showVersion = grants(request.principal?.scopes ?? [], 'releases:read');
      const page = rows.slice(0, limit);
      const membership = await repos.groups.membership(page.map((r) => r.id));
      const data = page.map((row) => ({
        object: 'fleet_device' as const,
        device: toDevice(row),
        current_deployment: row.c_id
          ? {
              id: row.c_id,
              release_id: row.c_release_id!,
              release_version: showVersion ? row.r_version : null,
              status: deriveStatus({ activity: row.c_activity!, error: row.c_error! }),
            }
          : null,
        staged_deployments: Number(row.staged_n ?? 0),
        group_id: membership.get(row.id)?.group_id ?? null,
        tags: membership.get(row.id)?.tags ?? {},
      }));
      return {
        object: 'list' as const,
        total_count: Number(counted.n),
        limit,
        offset,
        has_more: rows.length > limit,
        data,
      };
    },
  );

  app.get(
    '/fleet/summary',
    {
      config: { scopes: ['devices:read'], alsoScopes: ['deployments:read'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'getFleetSummary',
        summary: 'Fleet summary',
        description:
          'Extension: the summary bar — devices per presence, per release of the current deployment, with staged and failed deployments. Needs devices:read and deployments:read.',
        response: {
          200: Type.Object({
            object: Type.Literal('fleet_summary'),
            devices: Type.Integer(),
            presence: Type.Record(Type.String(), Type.Integer()),
            staged: Type.Integer({ description: 'Devices with at least one staged deployment.' }),
            failed: Type.Integer({ description: 'Devices whose current deployment failed.' }),
            releases: Type.Array(
              Type.Object({
                release_id: Type.Union([Type.String(), Type.Null()]),
                version: Type.Union([Type.String(), Type.Null()]),
                devices: Type.Integer(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const now = Date.now();
      const count = (rows: { n: string | number }) => Number(rows.n);
      const base = db.selectFrom('devices');
      const presence: Record<string, number> = {};
      for (const s of DEVICE_STATUSES) {
        presence[s] = count(
          await base
            .where((eb) => presenceIs(eb, s, now))
            .select((eb) => eb.fn.countAll<string | number>().as('n'))
            .executeTakeFirstOrThrow(),
        );
      }
      const staged = await db
        .selectFrom('deployments')
        .where('target_status', '=', 'staged')
        .where('activity_status', 'in', ['staged', 'drifted'])
        .select(sql<string | number>`count(distinct device_id)`.as('n'))
        .executeTakeFirstOrThrow();
      const failed = await db
        .selectFrom('deployments')
        .where('target_status', '=', 'deployed')
        .where('error_status', '=', 'failed')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .executeTakeFirstOrThrow();
      const byRelease = await db
        .selectFrom('devices')
        .leftJoin('deployments as c', (j) =>
          j.onRef('c.device_id', '=', 'devices.id').on('c.target_status', '=', 'deployed'),
        )
        .leftJoin('releases as r', 'r.id', 'c.release_id')
        .select(['c.release_id', 'r.version'])
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .groupBy(['c.release_id', 'r.version'])
        .orderBy('r.version')
        .execute();
      const showVersion = grants(request.principal?.scopes ?? [], 'releases:read');
      return {
        object: 'fleet_summary' as const,
        devices: Object.values(presence).reduce((a, b) => a + b, 0),
        presence,
        staged: count(staged),
        failed: count(failed),
        releases: byRelease.map((r) => ({
          release_id: r.release_id,
          version: showVersion ? r.version : null,
          devices: Number(r.n),
        })),
      };
    },
  );
};
