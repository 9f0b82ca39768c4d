import type { FastifyInstance } from 'fastify';
import type { WebhookStore } from '../storage/webhooks.ts';
import { type DeploymentToValidate, validateDeployment } from './validate.ts';
import { DeliveryWorker, type WebhookOptions, webhookOptionsFromEnv } from './worker.ts';

export { emitEvent } from './events.ts';
export { type WebhookOptions, webhookOptionsFromEnv } from './worker.ts';

export interface Webhooks {
  options: WebhookOptions;
  worker: DeliveryWorker;
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
  return { options: opts, worker, validate: (d) => validateDeployment(store, opts, d) };
}
