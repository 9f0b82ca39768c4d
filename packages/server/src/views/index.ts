/**
 * One module per resource: its TypeBox schema (registered by id, so routes and OpenAPI say `$ref`),
 * its serializer and its batched expansions, as a `View`. Routes answer and embed resources only
 * through these, so every resource looks the same wherever it appears.
 */
import type { TSchema } from '@sinclair/typebox';
import { ApiKey, CreatedApiKey } from './api-keys.ts';
import { ConfigInstance } from './config-instances.ts';
import { ConfigSchema } from './config-schemas.ts';
import { ConfigType } from './config-types.ts';
import { Deployment, DeploymentEvent } from './deployments.ts';
import { Device, PingDeviceResponse, TokenResponse } from './devices.ts';
import { GitCommit } from './git-commits.ts';
import { DeviceMembership, Group } from './groups.ts';
import { Release } from './releases.ts';
import { Rollout, RolloutEvent } from './rollouts.ts';
import {
  CreatedWebhookEndpoint,
  ReleaseValidation,
  WebhookDelivery,
  WebhookEndpoint,
} from './webhook-endpoints.ts';

export { apiKeyView, toApiKey } from './api-keys.ts';
export {
  type ConfigInstanceView,
  configInstanceView,
  InstanceContent,
  renderConfigInstances,
  toConfigInstance,
} from './config-instances.ts';
export {
  type ConfigSchemaView,
  configSchemaView,
  renderConfigSchemas,
  SchemaFormat,
  SchemaLanguage,
  toConfigSchema,
} from './config-schemas.ts';
export { type ConfigTypeView, configTypeView, toConfigType } from './config-types.ts';
export {
  type DeploymentView,
  deploymentView,
  renderDeployments,
  toDeployment,
  toDeploymentEvent,
} from './deployments.ts';
export { type DeviceView, deviceView, toDevice } from './devices.ts';
export { gitCommitView, toGitCommit } from './git-commits.ts';
export { type GroupView, groupView, toDeviceMembership, toGroup } from './groups.ts';
export { type ReleaseView, releaseView, renderReleases, toRelease } from './releases.ts';
export { type RolloutView, rolloutView, toRolloutEvent } from './rollouts.ts';
export { plainView, related, renderById, type View } from './view.ts';
export {
  toReleaseValidation,
  toWebhookDelivery,
  toWebhookEndpoint,
  type WebhookDeliveryView,
  webhookDeliveryView,
  webhookEndpointView,
} from './webhook-endpoints.ts';

/** Every shared response schema, in the order the OpenAPI document has always listed them. */
export const viewSchemas: TSchema[] = [
  ConfigType,
  ConfigSchema,
  ConfigInstance,
  Release,
  Device,
  GitCommit,
  TokenResponse,
  PingDeviceResponse,
  ApiKey,
  CreatedApiKey,
  Deployment,
  DeploymentEvent,
  WebhookEndpoint,
  CreatedWebhookEndpoint,
  WebhookDelivery,
  ReleaseValidation,
  Group,
  DeviceMembership,
  Rollout,
  RolloutEvent,
];
