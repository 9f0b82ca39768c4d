import type { FastifyInstance } from 'fastify';
import { PeriodicJob } from '../periodic.ts';
import type { WebhookStore } from '../storage/webhooks.ts';
import { pruneOutbox } from './prune.ts';
import { type DeploymentToValidate, validateDeployment } from './validate.ts';
import { DeliveryWorker, type WebhookOptions, webhookOptionsFromEnv } from './worker.ts';

export { emitEvent } from './events.ts';
export { type WebhookOptions, webhookOptionsFromEnv } from './worker.ts';

export interface Webhooks {
  options: WebhookOptions;
  worker: DeliveryWorker;
  /** Prunes old events and delivered deliveries in every replica (docs/decisions.md #89). */
  pruner: PeriodicJob;
  validate(deployment: DeploymentToValidate): Promise<string | null>;
}

/** The webhook machinery of one app: its options, its delivery worker (started on ready) and validation. */
export function installWebhooks(
  app: FastifyInstance,
  store: WebhookStore,
  options: Partial<WebhookOptions> = {},
): Webhooks {
  const opts = { ...webhookOptionsFromEnv(), ...options };
  const worker = new DeliveryWorker(store, opts, app.log);
  if (opts.worker) {
    app.addHook('onReady', async () => worker.start());
    app.addHook('preClose', async () => worker.stop());
  }
  let closing = false;
  const pruner = new PeriodicJob(
    'prune events',
    opts.pruneIntervalMs,
    () => pruneOutbox(store, { retentionMs: opts.retentionMs, batch: opts.pruneBatch }, () => closing),
    app.log,
  );
  app.addHook('onReady', async () => pruner.start());
  app.addHook('preClose', async () => {
    closing = true;
    await pruner.stop();
  });
  return { options: opts, worker, pruner, validate: (d) => validateDeployment(store, opts, d) };
}
