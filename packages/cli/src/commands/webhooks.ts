import type { WebhookDelivery, WebhookEndpoint } from '@bosun/sdk';
import { type Command, Option } from 'commander';
import { addListOptions, type JsonOption, printList, printOne, UsageError } from '../api.ts';
import { resolveRef } from '../refs.ts';
import { type ActionContext, type Column, type ResourceDef, registerResource } from '../resource.ts';

const fields: Column<WebhookEndpoint>[] = [
  ['ID', (e) => e.id],
  ['URL', (e) => e.url],
  ['EVENTS', (e) => e.event_types.join(',')],
  ['ENABLED', (e) => (e.enabled ? 'yes' : `no${e.disabled_reason ? ` (${e.disabled_reason})` : ''}`)],
  ['DESCRIPTION', (e) => e.description],
  ['CREATED', (e) => e.created_at],
];

const deliveryFields: Column<WebhookDelivery>[] = [
  ['ID', (d) => d.id],
  ['EVENT', (d) => `${d.event_type} ${d.event_id}`],
  ['STATUS', (d) => d.status],
  ['ATTEMPTS', (d) => d.attempts.length],
  [
    'LAST',
    (d) => {
      const a = d.attempts.at(-1);
      return a ? `${a.status_code ?? a.error} in ${a.latency_ms} ms` : null;
    },
  ],
  ['NEXT', (d) => d.next_attempt_at],
];

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Prints the secret alone on stdout (scriptable), the rest on stderr. */
function printSecret(opts: JsonOption, e: WebhookEndpoint & { secret: string }, verb: string) {
  if (opts.json) return printOne(opts, e, fields);
  process.stderr.write(`${verb} ${e.id} → ${e.url}; the signing secret is shown only now:\n`);
  process.stdout.write(`${e.secret}\n`);
}

/** `bosun webhooks …`: the `/beta/webhook_endpoints` extension (scope webhooks:read|write). */
export const webhooks: ResourceDef<WebhookEndpoint> = {
  command: 'webhooks',
  description: 'Webhook endpoints: signed platform events, delivery log, deployment.validate',
  noun: 'endpoint',
  idHint: 'ep_...',
  api: (c) => c.webhookEndpoints,
  columns: fields,
  list: { description: 'List endpoints (never their secrets)' },
  get: { description: 'Show one endpoint' },
  actions: [
    {
      name: 'create',
      description: 'Create an endpoint and print its signing secret (only this once) on stdout',
      target: false,
      options: (cmd) =>
        cmd
          .requiredOption('--url <url>', 'https URL that receives the events')
          .requiredOption(
            '--events <types>',
            "comma-separated event types: 'device.*', '*', 'deployment.validate', …",
          )
          .option('--description <text>', 'what the endpoint is for')
          .option('--disabled', 'create it disabled'),
      async run({
        client,
        opts,
      }: ActionContext<
        JsonOption & { url: string; events: string; description?: string; disabled?: boolean }
      >) {
        const e = await client.webhookEndpoints.create({
          url: opts.url,
          event_types: list(opts.events),
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          enabled: !opts.disabled,
        });
        printSecret(opts, e, 'created');
        return undefined;
      },
    },
    {
      name: 'update',
      description: 'Change the URL, events or description; --enable also clears a failure-disable',
      options: (cmd) =>
        cmd
          .option('--url <url>', 'new https URL')
          .option('--events <types>', 'new comma-separated event types (replace the old ones)')
          .option('--description <text>', 'new description')
          .option('--enable', 'enable it (also after a failure-disable)')
          .option('--disable', 'stop sending it events'),
      run({ client, id, opts: o }: ActionContext<JsonOption & UpdateOptions>) {
        if (o.enable && o.disable) throw new UsageError('--enable and --disable exclude each other');
        return client.webhookEndpoints.update(id, {
          ...(o.url !== undefined ? { url: o.url } : {}),
          ...(o.events !== undefined ? { event_types: list(o.events) } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
          ...(o.enable || o.disable ? { enabled: !!o.enable } : {}),
        });
      },
    },
    {
      name: 'delete',
      description: 'Delete an endpoint and its delivery log',
      json: false,
      async run({ client, id }) {
        await client.webhookEndpoints.delete(id);
        process.stderr.write(`deleted ${id}\n`);
        return undefined;
      },
    },
    {
      name: 'rotate-secret',
      description: 'New signing secret (printed once); the previous one keeps signing for 24 h',
      async run({ client, id, opts }) {
        printSecret(opts, await client.webhookEndpoints.rotateSecret(id), 'rotated');
        return undefined;
      },
    },
    {
      name: 'test',
      description: 'Send a webhook.test event to the endpoint',
      json: false,
      async run({ client, id }) {
        const r = await client.webhookEndpoints.test(id);
        process.stderr.write(`queued ${r.event_id}; see \`bosun webhooks deliveries ${id}\`\n`);
        return undefined;
      },
    },
    {
      name: 'deliveries',
      description: 'Delivery log of an endpoint',
      // Paging and --json come with the list options.
      json: false,
      options: (cmd) =>
        addListOptions(cmd).addOption(
          new Option('--status <status>', 'only deliveries in this status').choices([
            'pending',
            'delivered',
            'failed',
          ]),
        ),
      async run({
        client,
        id,
        opts,
      }: ActionContext<JsonOption & { offset: number; limit: number; status?: 'pending' }>) {
        const page = await client.webhookEndpoints.deliveries(id, {
          offset: opts.offset,
          limit: opts.limit,
          ...(opts.status ? { status: [opts.status] } : {}),
        });
        printList(opts, page, deliveryFields);
        return undefined;
      },
    },
    {
      name: 'redeliver',
      description: 'Send a delivery again (same webhook-id)',
      args: [['<delivery-id>', 'whd_...']],
      async run({ client, id, args: [deliveryId], opts }) {
        printOne(opts, await client.webhookEndpoints.redeliver(id, deliveryId!), deliveryFields);
        return undefined;
      },
    },
    {
      name: 'validation',
      description: 'Show or set custom validation (deployment.validate) of a release',
      target: false,
      args: [['<release>', 'release id (rls_...) or version']],
      options: (cmd) =>
        cmd
          .option('--on', 'validate deployment creates of this release')
          .option('--off', 'no custom validation (the default)')
          .option('--fail-open', 'with --on: create anyway when no validator answers'),
      async run({
        client,
        args: [release],
        opts: o,
      }: ActionContext<JsonOption & { on?: boolean; off?: boolean; failOpen?: boolean }>) {
        if (o.on && o.off) throw new UsageError('--on and --off exclude each other');
        if (o.failOpen && !o.on) throw new UsageError('--fail-open goes with --on');
        const releaseId = await resolveRef(client, 'release', release!);
        const hooks = client.webhookEndpoints;
        const v =
          o.on || o.off
            ? await hooks.setReleaseValidation(releaseId, { enabled: !!o.on, fail_open: !!o.failOpen })
            : await hooks.releaseValidation(releaseId);
        printOne(o, v, [
          ['RELEASE', (x) => x.release_id],
          [
            'CUSTOM VALIDATION',
            (x) => (x.enabled ? (x.fail_open ? 'on (fails open)' : 'on (fails closed)') : 'off'),
          ],
        ]);
        return undefined;
      },
    },
  ],
};

type UpdateOptions = {
  url?: string;
  events?: string;
  description?: string;
  enable?: boolean;
  disable?: boolean;
};

export function registerWebhookCommands(program: Command): void {
  registerResource(program, webhooks);
}
