import type {
  AnnouncedPresence,
  DeploymentActivityStatus,
  DeploymentErrorStatus,
  DeploymentTargetStatus,
  DeviceStatus,
} from '@bosun/core';
import type { Generated } from 'kysely';
import type { FleetTables } from './fleet-schema.ts';

/**
 * Row types, one interface per table, following the SQL of the migrations. Timestamps are ISO 8601
 * UTC strings on both engines (PostgreSQL `timestamptz` values are parsed back to ISO strings by the
 * pool's type parser), so code above storage never sees an engine difference.
 */
export interface ApiKeyTable {
  id: string;
  name: string;
  key_hash: string;
  /** JSON array of scope strings. */
  scopes: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ConfigTypeTable {
  id: string;
  name: string;
  slug: string;
  created_at: string;
  updated_at: string;
}

export interface DeviceTable {
  id: string;
  name: string;
  status: DeviceStatus;
  agent_version: string | null;
  last_connected_at: string | null;
  last_disconnected_at: string | null;
  /** Last agent contact (migration 005); absent on rows built before it was read. */
  last_seen_at?: string | null;
  /** The presence last announced by a device.online/offline event (migration 012); null: never. */
  presence_announced?: AnnouncedPresence;
  created_at: string;
  updated_at: string;
}

export interface GitCommitTable {
  id: string;
  sha: string;
  message: string;
  repository_owner: string;
  repository_name: string;
  repository_type: 'github' | 'gitlab' | 'bitbucket';
  repository_url: string;
  commit_url: string;
  created_at: string;
}

export interface ConfigSchemaTable {
  id: string;
  config_type_id: string;
  language: 'jsonschema' | 'cue';
  format: 'json' | 'yaml' | 'cue';
  instance_filepath: string;
  digest: string;
  identity_key: string;
  git_commit_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface SchemaDocumentTable {
  id: string;
  config_schema_id: string;
  position: number;
  name: string;
  data: string;
  repository_path: string | null;
}

export interface ConfigInstanceTable {
  id: string;
  config_schema_id: string;
  config_type_id: string;
  filepath: string;
  format: 'json';
  data: string;
  content_digest: string;
  created_at: string;
}

export interface ReleaseTable {
  id: string;
  version: string;
  version_key: string;
  git_commit_id: string | null;
  created_at: string;
  updated_at: string;
}

/** The platform event outbox (migration 009): `data` is the JSON envelope's `data`. */
export interface EventTable {
  id: string;
  type: string;
  data: string;
  created_at: string;
}

export interface WebhookEndpointTable {
  id: string;
  url: string;
  description: string;
  /** JSON array of event types and patterns. */
  event_types: string;
  /** 1 or 0 on both engines. */
  enabled: number;
  /** `whsec_…`: signing needs the secret itself (docs/decisions.md, webhooks). */
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  failed_deliveries: number;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveryTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  first_attempt_at: string | null;
  lease_until: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: string;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
  retry_delay_ms: number | null;
}

export interface ReleaseValidationTable {
  release_id: string;
  mode: 'fail_closed' | 'fail_open';
  updated_at: string;
}

export interface ReleaseSchemaTable {
  release_id: string;
  config_schema_id: string;
  config_type_id: string;
  instance_filepath: string;
  position: number;
}

/** The status unions are core's (`deployments/status.ts`); the database holds exactly those values. */
export type TargetStatus = DeploymentTargetStatus;
export type ActivityStatus = DeploymentActivityStatus;
export type ErrorStatus = DeploymentErrorStatus;

export interface DeploymentTable {
  id: string;
  description: string;
  device_id: string;
  release_id: string;
  parent_id: string | null;
  target_status: TargetStatus;
  activity_status: ActivityStatus;
  error_status: ErrorStatus;
  error_message: string | null;
  attempts: Generated<number>;
  staged_at: string | null;
  current_at: string | null;
  deployed_at: string | null;
  archived_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeploymentInstanceTable {
  deployment_id: string;
  config_instance_id: string;
  position: number;
}

export interface DeploymentEventTable {
  id: string;
  deployment_id: string;
  device_id: string;
  from_target_status: TargetStatus | null;
  from_activity_status: ActivityStatus | null;
  from_error_status: ErrorStatus | null;
  to_target_status: TargetStatus;
  to_activity_status: ActivityStatus;
  to_error_status: ErrorStatus;
  actor_type: 'api_key' | 'agent' | 'system';
  actor_id: string | null;
  message: string | null;
  attempt: number | null;
  occurred_at: string;
  /** When the agent observed the change (agent reports only). */
  observed_at: string | null;
}

export interface DeviceIdentityTable {
  device_id: string;
  public_key_pem: string;
  key_fingerprint: string;
  hostname: string | null;
  activated_at: string;
  updated_at: string;
}

export interface DeviceActivationTokenTable {
  token_hash: string;
  device_id: string;
  allow_reactivation: number;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

export interface DeviceAccessTokenTable {
  token_hash: string;
  device_id: string;
  expires_at: string;
  created_at: string;
}

export interface DeviceJwtIdTable {
  jti: string;
  device_id: string;
  expires_at: string;
}

export interface AgentReportTable {
  device_id: string;
  report_id: string;
  deployment_id: string;
  received_at: string;
}

/** A remembered `Idempotency-Key` (migration 007); `response_status` is null while in flight. */
export interface IdempotencyKeyTable {
  api_key_id: string;
  idempotency_key: string;
  request_method: string;
  request_path: string;
  request_hash: string;
  response_status: number | null;
  response_body: string | null;
  created_at: string;
  expires_at: string;
}

/** A dashboard session (migration 010): hashes only; scopes come from the key at each request. */
export interface UiSessionTable {
  token_hash: string;
  csrf_hash: string;
  api_key_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export interface Database extends FleetTables {
  api_keys: ApiKeyTable;
  idempotency_keys: IdempotencyKeyTable;
  config_types: ConfigTypeTable;
  devices: DeviceTable;
  git_commits: GitCommitTable;
  config_schemas: ConfigSchemaTable;
  schema_documents: SchemaDocumentTable;
  config_instances: ConfigInstanceTable;
  releases: ReleaseTable;
  release_schemas: ReleaseSchemaTable;
  deployments: DeploymentTable;
  deployment_instances: DeploymentInstanceTable;
  deployment_events: DeploymentEventTable;
  device_identities: DeviceIdentityTable;
  device_activation_tokens: DeviceActivationTokenTable;
  device_access_tokens: DeviceAccessTokenTable;
  device_jwt_ids: DeviceJwtIdTable;
  agent_reports: AgentReportTable;
  ui_sessions: UiSessionTable;
  events: EventTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  release_validations: ReleaseValidationTable;
}
