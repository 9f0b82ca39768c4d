import type { WebhookDelivery, WebhookEndpoint } from '@bosun/sdk';
import type { Command } from 'commander';
import {
  addListOptions,
  connect,
  type JsonOption,
  jsonOption,
  type ListOptions,
  printList,
  printOne,
  run,
  UsageError,
} from '../api.ts';
import { fetchList } from '../resource.ts';

const fields: [string, (e: WebhookEndpoint) => unknown][] = [
  ['ID', (e) => e.id],
  ['URL', (e) => e.url],
  ['EVENTS', (e) => e.event_types.join(',')],
  ['ENABLED', (e) => (e.enabled ? 'yes' : `no${e.disabled_reason ? ` (${e.disabled_reason})` : ''}`)],
  ['DESCRIPTION', (e) => e.description],
  ['CREATED', (e) => e.created_at],
];

const deliveryFields: [string, (d: WebhookDelivery) => unknown][] = [
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
export function registerWebhookCommands(program: Command): void {
  const hooks = program
    .command('webhooks')
    .description('Webhook endpoints: signed platform events, delivery log, deployment.validate');
  const show = (opts: JsonOption, e: WebhookEndpoint) => printOne(opts, e, fields);

  hooks
    .command('create')
    .description('Create an endpoint and print its signing secret (only this once) on stdout')
    .requiredOption('--url <url>', 'https URL that receives the events')
    .requiredOption(
      '--events <types>',
      "comma-separated event types: 'device.*', '*', 'deployment.validate', …",
    )
    .option('--description <text>', 'what the endpoint is for')
    .option('--disabled', 'create it disabled')
    .addOption(jsonOption())
    .action(
      run(
        async (
          opts: JsonOption & { url: string; events: string; description?: string; disabled?: boolean },
        ) => {
          const e = await connect().webhookEndpoints.create({
            url: opts.url,
            event_types: list(opts.events),
            ...(opts.description !== undefined ? { description: opts.description } : {}),
            enabled: !opts.disabled,
          });
          printSecret(opts, e, 'created');
        },
      ),
    );

  addListOptions(hooks.command('list').description('List endpoints (never their secrets)')).action(
    run(async (opts: ListOptions) =>
      printList(opts, await fetchList(connect().webhookEndpoints, opts, {}), fields),
    ),
  );

  hooks
    .command('get')
    .argument('<endpoint-id>', 'ep_...')
    .description('Show one endpoint')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) => show(opts, await connect().webhookEndpoints.get(id))),
    );

  hooks
    .command('update')
    .argument('<endpoint-id>', 'ep_...')
    .description('Change the URL, events or description; --enable also clears a failure-disable')
    .option('--url <url>')
    .option('--events <types>')
    .option('--description <text>')
    .option('--enable')
    .option('--disable')
    .addOption(jsonOption())
    .action(
      run(
        async (
          id: string,
          o: JsonOption & {
            url?: string;
            events?: string;
            description?: string;
            enable?: boolean;
            disable?: boolean;
          },
        ) => {
          if (o.enable && o.disable) throw new UsageError('--enable and --disable exclude each other');
          const e = await connect().webhookEndpoints.update(id, {
            ...(o.url !== undefined ? { url: o.url } : {}),
            ...(o.events !== undefined ? { event_types: list(o.events) } : {}),
            ...(o.description !== undefined ? { description: o.description } : {}),
            ...(o.enable || o.disable ? { enabled: !!o.enable } : {}),
          });
          show(o, e);
        },
      ),
    );

  hooks
    .command('delete')
    .argument('<endpoint-id>', 'ep_...')
    .description('Delete an endpoint and its delivery log')
    .action(
      run(async (id: string) => {
        await connect().webhookEndpoints.delete(id);
        process.stderr.write(`deleted ${id}\n`);
      }),
    );

  hooks
    .command('rotate-secret')
    .argument('<endpoint-id>', 'ep_...')
    .description('New signing secret (printed once); the previous one keeps signing for 24 h')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) =>
        printSecret(opts, await connect().webhookEndpoints.rotateSecret(id), 'rotated'),
      ),
    );

  hooks
    .command('test')
    .argument('<endpoint-id>', 'ep_...')
    .description('Send a webhook.test event to the endpoint')
    .action(
      run(async (id: string) => {
        const r = await connect().webhookEndpoints.test(id);
        process.stderr.write(`queued ${r.event_id}; see \`bosun webhooks deliveries ${id}\`\n`);
      }),
    );

  addListOptions(
    hooks
      .command('deliveries')
      .argument('<endpoint-id>', 'ep_...')
      .description('Delivery log of an endpoint'),
  )
    .option('--status <status>', 'pending, delivered or failed')
    .action(
      run(async (id: string, opts: ListOptions & { status?: string }) => {
        const page = await connect().webhookEndpoints.deliveries(id, {
          offset: opts.offset,
          limit: opts.limit,
          ...(opts.status ? { status: [opts.status as 'pending'] } : {}),
        });
        printList(opts, page, deliveryFields);
      }),
    );

  hooks
    .command('redeliver')
    .argument('<endpoint-id>', 'ep_...')
    .argument('<delivery-id>', 'whd_...')
    .description('Send a delivery again (same webhook-id)')
    .addOption(jsonOption())
    .action(
      run(async (id: string, deliveryId: string, opts: JsonOption) =>
        printOne(opts, await connect().webhookEndpoints.redeliver(id, deliveryId), deliveryFields),
      ),
    );

  hooks
    .command('validation')
    .argument('<release-id>', 'rls_...')
    .description('Show or set custom validation (deployment.validate) of a release')
    .option('--on', 'validate deployment creates of this release')
    .option('--off', 'no custom validation (the default)')
    .option('--fail-open', 'with --on: create anyway when no validator answers')
    .addOption(jsonOption())
    .action(
      run(async (releaseId: string, o: JsonOption & { on?: boolean; off?: boolean; failOpen?: boolean }) => {
        if (o.on && o.off) throw new UsageError('--on and --off exclude each other');
        if (o.failOpen && !o.on) throw new UsageError('--fail-open goes with --on');
        const client = connect().webhookEndpoints;
        const v =
          o.on || o.off
            ? await client.setReleaseValidation(releaseId, { enabled: !!o.on, fail_open: !!o.failOpen })
            : await client.releaseValidation(releaseId);
        printOne(o, v, [
          ['RELEASE', (x) => x.release_id],
          [
            'CUSTOM VALIDATION',
            (x) => (x.enabled ? (x.fail_open ? 'on (fails open)' : 'on (fails closed)') : 'off'),
          ],
        ]);
      }),
    );
}
