import { badRequest, checkEventTypes, checkWebhookUrl, notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { getResource, listResource, renderOne } from '../http/resource.ts';
import { enumFilter, errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { generateWebhookSecret } from '../storage/webhooks.ts';
import {
  toReleaseValidation,
  toWebhookEndpoint,
  webhookDeliveryView,
  webhookEndpointView,
} from '../views/webhook-endpoints.ts';
import type { Webhooks } from '../webhooks/index.ts';

/** Extension beyond the Miru API (docs/decisions.md #19). */
const EXTENSION = { 'x-bosun-extension': true } as const;
const READ = ['webhooks:read'];
const WRITE = ['webhooks:write'];

const endpointId = IdParam('webhook_endpoint_id', 'ep_...');
const EndpointBody = {
  url: Type.String({ maxLength: 2048 }),
  description: Type.String({ maxLength: 500 }),
  event_types: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 }),
  enabled: Type.Boolean(),
};

export const webhookEndpointRoutes: FastifyPluginAsyncTypebox<{
  repos: Repositories;
  webhooks: Webhooks;
}> = async (app, { repos, webhooks }) => {
  const tags = ['Webhooks'];
  const allowPrivate = webhooks.options.allowPrivate;
  const load = async (id: string) => {
    const e = await repos.webhooks.get(id);
    if (!e) throw notFound('webhook endpoint', id);
    return e;
  };

  app.post(
    '/webhook_endpoints',
    {
      config: { scopes: WRITE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'createWebhookEndpoint',
        summary: 'Create',
        description:
          'Extension: an endpoint that receives signed events (Standard Webhooks). The secret is returned only this once.',
        body: Type.Object({
          url: EndpointBody.url,
          description: Type.Optional(EndpointBody.description),
          event_types: EndpointBody.event_types,
          enabled: Type.Optional(EndpointBody.enabled),
        }),
        response: { 200: Type.Ref('CreatedWebhookEndpoint'), ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const url = checkWebhookUrl(b.url, allowPrivate);
      const event_types = checkEventTypes(b.event_types);
      const secret = generateWebhookSecret();
      const e = await repos.webhooks.create({
        url,
        description: b.description ?? '',
        event_types,
        enabled: b.enabled ?? true,
        secret,
      });
      return { ...toWebhookEndpoint(e), secret };
    },
  );

  app.get(
    '/webhook_endpoints',
    {
      config: { scopes: READ },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'listWebhookEndpoints',
        summary: 'List',
        description: 'Extension: every webhook endpoint; never a secret.',
        querystring: ListQuery({ id: filter('Endpoint ids.') }, []),
        response: {
          200: PaginatedList(Type.Ref('WebhookEndpoint'), 'Webhook Endpoint List'),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      listResource(repos, webhookEndpointView, request.query, (page) =>
        repos.webhooks.page({ id: request.query.id }, page),
      ),
  );

  app.get(
    '/webhook_endpoints/:webhook_endpoint_id',
    {
      config: { scopes: READ },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'getWebhookEndpoint',
        summary: 'Get',
        params: endpointId,
        response: { 200: Type.Ref('WebhookEndpoint'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, webhookEndpointView, {}, request.params.webhook_endpoint_id, (id) =>
        repos.webhooks.get(id),
      ),
  );

  app.patch(
    '/webhook_endpoints/:webhook_endpoint_id',
    {
      config: { scopes: WRITE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'updateWebhookEndpoint',
        summary: 'Update',
        description:
          'Extension: changes the URL, description, event types or enabled flag. Enabling clears the failure count.',
        params: endpointId,
        body: Type.Object({
          url: Type.Optional(EndpointBody.url),
          description: Type.Optional(EndpointBody.description),
          event_types: Type.Optional(EndpointBody.event_types),
          enabled: Type.Optional(EndpointBody.enabled),
        }),
        response: { 200: Type.Ref('WebhookEndpoint'), ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const patch = {
        ...(b.url !== undefined ? { url: checkWebhookUrl(b.url, allowPrivate) } : {}),
        ...(b.event_types !== undefined ? { event_types: checkEventTypes(b.event_types) } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      };
      const e = await load(request.params.webhook_endpoint_id);
      const updated = await repos.webhooks.update(e.id, patch);
      if (!updated) throw notFound('webhook endpoint', e.id);
      return toWebhookEndpoint(updated);
    },
  );

  app.delete(
    '/webhook_endpoints/:webhook_endpoint_id',
    {
      config: { scopes: WRITE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete',
        description: 'Extension: deletes the endpoint and its delivery log; pending deliveries are dropped.',
        params: endpointId,
        response: {
          200: Type.Object({
            object: Type.Literal('webhook_endpoint'),
            id: Type.String(),
            deleted: Type.Literal(true),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const id = request.params.webhook_endpoint_id;
      if (!(await repos.webhooks.remove(id))) throw notFound('webhook endpoint', id);
      return { object: 'webhook_endpoint' as const, id, deleted: true as const };
    },
  );

  app.post(
    '/webhook_endpoints/:webhook_endpoint_id/rotate_secret',
    {
      config: { scopes: WRITE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'rotateWebhookEndpointSecret',
        summary: 'Rotate secret',
        description:
          'Extension: a new secret, returned only this once. Requests carry a signature with each of the new and the previous secret for 24 h.',
        params: endpointId,
        response: { 200: Type.Ref('CreatedWebhookEndpoint'), ...errorResponses },
      },
    },
    async (request) => {
      const e = await load(request.params.webhook_endpoint_id);
      const secret = generateWebhookSecret();
      const rotated = await repos.webhooks.rotate(e.id, secret);
      if (!rotated) throw notFound('webhook endpoint', e.id);
      return { ...toWebhookEndpoint(rotated), secret };
    },
  );

  app.post(
    '/webhook_endpoints/:webhook_endpoint_id/test',
    {
      config: { scopes: WRITE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'sendWebhookTestEvent',
        summary: 'Send a test event',
        description: 'Extension: queues a `webhook.test` event for this endpoint only (see its deliveries).',
        params: endpointId,
        response: {
          200: Type.Object({
            object: Type.Literal('webhook_test'),
            endpoint_id: Type.String(),
            event_id: Type.String(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const e = await load(request.params.webhook_endpoint_id);
      if (!e.enabled) {
        throw badRequest('endpoint_disabled', `Webhook endpoint ${e.id} is disabled; enable it first.`, {
          id: e.id,
        });
      }
      const eventId = await repos.webhooks.sendTest(e.id);
      webhooks.worker.kick();
      return { object: 'webhook_test' as const, endpoint_id: e.id, event_id: eventId };
    },
  );

  app.get(
    '/webhook_endpoints/:webhook_endpoint_id/deliveries',
    {
      config: { scopes: READ },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'listWebhookDeliveries',
        summary: 'Delivery log',
        description:
          'Extension: deliveries to this endpoint with every attempt (status code, latency, answer excerpt).',
        params: endpointId,
        querystring: ListQuery(
          {
            status: enumFilter('Delivery statuses.', ['pending', 'delivered', 'failed']),
            event_id: filter('Event ids.'),
          },
          [],
        ),
        response: {
          200: PaginatedList(Type.Ref('WebhookDelivery'), 'Webhook Delivery List'),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const e = await load(request.params.webhook_endpoint_id);
      const q = request.query;
      return listResource(repos, webhookDeliveryView, q, (page) =>
        repos.webhooks.deliveries(e.id, { status: q.status, event_id: q.event_id }, page),
      );
    },
  );

  app.post(
    '/webhook_endpoints/:webhook_endpoint_id/deliveries/:delivery_id/redeliver',
    {
      config: { scopes: WRITE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'redeliverWebhook',
        summary: 'Redeliver',
        description:
          'Extension: sends the event again (same `webhook-id`), with a fresh retry window; works on delivered and failed deliveries alike.',
        params: Type.Object({ ...endpointId.properties, ...IdParam('delivery_id', 'whd_...').properties }),
        response: { 200: Type.Ref('WebhookDelivery'), ...errorResponses },
      },
    },
    async (request) => {
      const { webhook_endpoint_id, delivery_id } = request.params;
      const e = await load(webhook_endpoint_id);
      if (!(await repos.webhooks.delivery(e.id, delivery_id)))
        throw notFound('webhook delivery', delivery_id);
      await repos.webhooks.redeliver(e.id, delivery_id);
      webhooks.worker.kick();
      const d = (await repos.webhooks.delivery(e.id, delivery_id))!;
      return renderOne(repos, webhookDeliveryView, d);
    },
  );

  // ----- custom validation of a release (deployment.validate) --------------------------------------

  const releaseId = IdParam('release_id', 'rls_...');
  const loadRelease = async (id: string) => {
    const r = await repos.releases.get(id);
    if (!r) throw notFound('release', id);
    return r;
  };
  const validationOf = async (id: string) => toReleaseValidation(id, await repos.webhooks.validationMode(id));

  app.get(
    '/releases/:release_id/custom_validation',
    {
      config: { scopes: ['releases:read'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'getReleaseCustomValidation',
        summary: 'Get custom validation',
        description:
          'Extension: whether deployments of this release are validated by deployment.validate receivers.',
        params: releaseId,
        response: { 200: Type.Ref('ReleaseCustomValidation'), ...errorResponses },
      },
    },
    async (request) => validationOf((await loadRelease(request.params.release_id)).id),
  );

  app.put(
    '/releases/:release_id/custom_validation',
    {
      config: { scopes: ['releases:write'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'setReleaseCustomValidation',
        summary: 'Set custom validation',
        description:
          'Extension: turns deployment.validate on or off for deployments of this release (off by default), and whether a validator that does not answer blocks the create (fail closed, default) or not.',
        params: releaseId,
        body: Type.Object({ enabled: Type.Boolean(), fail_open: Type.Optional(Type.Boolean()) }),
        response: { 200: Type.Ref('ReleaseCustomValidation'), ...errorResponses },
      },
    },
    async (request) => {
      const r = await loadRelease(request.params.release_id);
      const { enabled, fail_open } = request.body;
      await repos.webhooks.setValidationMode(
        r.id,
        enabled ? (fail_open ? 'fail_open' : 'fail_closed') : null,
      );
      return validationOf(r.id);
    },
  );
};
