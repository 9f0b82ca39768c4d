import { type CustomValidationMode, WEBHOOK_EVENT_TYPES } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import type { AttemptRow, DeliveryRow, WebhookEndpointRecord } from '../storage/webhooks.ts';
import { plainView, type View } from './view.ts';

/** Webhook endpoints, their deliveries and a release's custom validation switch (extensions). */

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const endpointFields = {
  object: Type.Literal('webhook_endpoint'),
  id: Type.String({ examples: ['ep_123'] }),
  url: Type.String({ description: 'Where events are POSTed (https; see BOSUN_WEBHOOKS_ALLOW_PRIVATE).' }),
  description: Type.String(),
  event_types: Type.Array(Type.String(), {
    description: `Event types, '*' (all but deployment.validate) or '<prefix>.*'. Known: ${[...WEBHOOK_EVENT_TYPES, 'deployment.validate'].join(', ')}.`,
  }),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()], {
    description: 'Why Bosun disabled the endpoint (repeated failed deliveries); null otherwise.',
  }),
  created_at: Timestamp('When the endpoint was created.'),
  updated_at: Timestamp('When the endpoint last changed.'),
};

export const WebhookEndpoint = Type.Object(endpointFields, {
  $id: 'WebhookEndpoint',
  title: 'Webhook Endpoint',
});
export const CreatedWebhookEndpoint = Type.Object(
  {
    ...endpointFields,
    secret: Type.String({
      description:
        'The signing secret (Standard Webhooks, `whsec_…`), shown only in this response. After a rotation the previous secret also signs for 24 h.',
      examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    }),
  },
  { $id: 'CreatedWebhookEndpoint', title: 'Created Webhook Endpoint' },
);

export const WebhookDelivery = Type.Object(
  {
    object: Type.Literal('webhook_delivery'),
    id: Type.String({ examples: ['whd_123'] }),
    endpoint_id: Type.String(),
    event_id: Type.String({ description: 'Also the `webhook-id` header of every attempt.' }),
    event_type: Type.String(),
    status: literals(['pending', 'delivered', 'failed']),
    attempts: Type.Array(
      Type.Object({
        attempt: Type.Integer(),
        started_at: Timestamp('When the attempt started.'),
        status_code: Type.Union([Type.Integer(), Type.Null()]),
        latency_ms: Type.Integer(),
        response_excerpt: Type.Union([Type.String(), Type.Null()], {
          description: 'First 1 KB of the answer.',
        }),
        error: Type.Union([Type.String(), Type.Null()], {
          description: 'Timeout, refused address, network error.',
        }),
        retry_delay_ms: Type.Union([Type.Integer(), Type.Null()], {
          description: 'The jittered wait before the next attempt; null when none followed.',
        }),
      }),
    ),
    next_attempt_at: NullableTimestamp('When the next attempt is due (pending only).'),
    delivered_at: NullableTimestamp('When a 2xx answer arrived.'),
    created_at: Timestamp('When the event was written.'),
  },
  { $id: 'WebhookDelivery', title: 'Webhook Delivery' },
);

export const ReleaseValidation = Type.Object(
  {
    object: Type.Literal('release_custom_validation'),
    release_id: Type.String(),
    enabled: Type.Boolean({
      description: 'Whether deployment creates of this release call deployment.validate.',
    }),
    fail_open: Type.Boolean({
      description:
        'When a validator does not answer (timeout, non-2xx): false refuses the create (409 deployment_validation_unavailable), true creates it and records that.',
    }),
  },
  { $id: 'ReleaseCustomValidation', title: 'Release Custom Validation' },
);

export function toWebhookEndpoint(e: WebhookEndpointRecord) {
  return {
    object: 'webhook_endpoint' as const,
    id: e.id,
    url: e.url,
    description: e.description,
    event_types: e.event_types,
    enabled: e.enabled,
    disabled_reason: e.disabled_reason,
    created_at: e.created_at,
    updated_at: e.updated_at,
  };
}

export function toWebhookDelivery(d: DeliveryRow & { event_type: string }, attempts: AttemptRow[]) {
  return {
    object: 'webhook_delivery' as const,
    id: d.id,
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    event_type: d.event_type,
    status: d.status,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      started_at: a.started_at,
      status_code: a.status_code,
      latency_ms: a.latency_ms,
      response_excerpt: a.response_excerpt,
      error: a.error,
      retry_delay_ms: a.retry_delay_ms,
    })),
    next_attempt_at: d.status === 'pending' ? d.next_attempt_at : null,
    delivered_at: d.delivered_at,
    created_at: d.created_at,
  };
}

export const webhookEndpointView = plainView('webhook_endpoint', 'webhook endpoint', toWebhookEndpoint);

type DeliveryWithType = DeliveryRow & { event_type: string };
export type WebhookDeliveryView = ReturnType<typeof toWebhookDelivery>;

/** Deliveries with every attempt, the attempts of a whole page in one query. */
export const webhookDeliveryView: View<DeliveryWithType, WebhookDeliveryView> = {
  resource: 'webhook_delivery',
  noun: 'webhook delivery',
  async render(repos: Repositories, rows) {
    const attempts = await repos.webhooks.attempts(rows.map((d) => d.id));
    return rows.map((d) => toWebhookDelivery(d, attempts.get(d.id) ?? []));
  },
};

export function toReleaseValidation(releaseId: string, mode: CustomValidationMode | null) {
  return {
    object: 'release_custom_validation' as const,
    release_id: releaseId,
    enabled: mode !== null,
    fail_open: mode === 'fail_open',
  };
}
