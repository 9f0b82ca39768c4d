import { BlockList, isIP } from 'node:net';
import { backoffCeilingMs, fullJitterMs, type JitterPolicy } from './agent/backoff.ts';
import { type BosunError, badRequest, conflict, unprocessable } from './errors.ts';

/**
 * Webhooks (docs/decisions.md #20 and the webhooks section): which events exist, which endpoint gets
 * which event, when a failed delivery is tried again, and what a `deployment.validate` answer means.
 * Pure rules; the server stores, signs and sends.
 */

/** Platform events an endpoint can subscribe to (`deployment.validate` is a call, not an event). */
export const WEBHOOK_EVENT_TYPES = [
  'deployment.created',
  'deployment.status_changed',
  'deployment.drifted',
  'device.created',
  'device.online',
  'device.offline',
  'release.created',
  'config_instance.created',
  'rollout.created',
  'rollout.wave_started',
  'rollout.paused',
  'rollout.resumed',
  'rollout.completed',
  'rollout.aborted',
  'webhook_endpoint.disabled',
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The synchronous validation call of the tetons spec (`x-webhooks`). */
export const VALIDATE_EVENT_TYPE = 'deployment.validate';

const SUBSCRIBABLE: readonly string[] = [...WEBHOOK_EVENT_TYPES, VALIDATE_EVENT_TYPE];

/**
 * Checks an endpoint's event type list: exact names, `*` (everything except `deployment.validate`,
 * which must be asked for by name since it makes the endpoint a judge of every validated create),
 * or `<prefix>.*`. Unknown names are a 422 naming them; an empty list a 400.
 */
export function checkEventTypes(types: readonly string[]): string[] {
  if (!types.length) {
    throw badRequest('invalid_request', "Field 'event_types' must name at least one event type.", {
      field: 'event_types',
    });
  }
  const unique = [...new Set(types.map((t) => t.trim()))];
  const unknown = unique.filter((pattern) => {
    if (pattern === '*') return false;
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1);
      return !SUBSCRIBABLE.some((t) => t.startsWith(prefix));
    }
    return !SUBSCRIBABLE.includes(pattern);
  });
  if (unknown.length) {
    throw unprocessable('unknown_event_type', `Unknown event type(s): ${unknown.join(', ')}.`, {
      field: 'event_types',
      unknown,
      known: SUBSCRIBABLE,
    });
  }
  return unique;
}

/** Whether an endpoint subscribed to `patterns` receives an event of `type`. */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => {
    if (p === type) return true;
    if (type === VALIDATE_EVENT_TYPE) return false;
    if (p === '*') return true;
    return p.endsWith('.*') && type.startsWith(p.slice(0, -1));
  });
}

/** Retry policy of deliveries: full jitter on an exponential ceiling, for at most `windowMs`. */
export interface DeliveryRetryPolicy extends JitterPolicy {
  /** No attempt starts later than this after the first one; then the delivery is failed. */
  windowMs: number;
}

/**
 * Defaults: the n-th retry waits uniformly in [0, min(4 h, 10 s × 2^n)]; attempts stop 24 h after
 * the first. The expected schedule is roughly 5 s, 10 s, 20 s, … 4 h apart: some 17 attempts.
 */
export const DELIVERY_RETRY: DeliveryRetryPolicy = {
  baseMs: 10_000,
  capMs: 4 * 3_600_000,
  minMs: 100,
  windowMs: 24 * 3_600_000,
};

/** A delivery failed for good after this many consecutive failed deliveries disables its endpoint. */
export const DISABLE_AFTER_FAILED_DELIVERIES = 5;

/**
 * After the `attempts`-th failed attempt (1-based) of a delivery first tried at `firstAttemptAt`:
 * when to try again, or `null` once the retry window is spent.
 */
export function nextDeliveryAttempt(
  attempts: number,
  firstAttemptAt: number,
  now: number,
  policy: DeliveryRetryPolicy = DELIVERY_RETRY,
  random: () => number = Math.random,
): { at: number; delayMs: number; ceilingMs: number } | null {
  const delayMs = fullJitterMs(attempts - 1, policy, random);
  const at = now + delayMs;
  if (at > firstAttemptAt + policy.windowMs) return null;
  return { at, delayMs, ceilingMs: backoffCeilingMs(attempts - 1, policy) };
}

/** A 2xx answer is delivered; anything else (or no answer) is a failed attempt. */
export const isDelivered = (status: number | null) => status !== null && status >= 200 && status < 300;

// ----- deployment.validate ----------------------------------------------------------------------

export interface ValidationVerdict {
  is_valid: boolean;
  message: string;
  config_instances: { id: string; message: string; parameters: { message: string; path: string[] }[] }[];
}

/** How a release with custom validation treats a receiver that does not answer (or answers non-2xx). */
export type CustomValidationMode = 'fail_closed' | 'fail_open';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a receiver's 200 body as a verdict; `null` when it is not one (which counts as no answer).
 * Missing optional parts default to empty; a path segment that is a number becomes its text.
 */
export function parseVerdict(body: unknown): ValidationVerdict | null {
  if (!isObject(body) || typeof body.is_valid !== 'boolean') return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const instances = Array.isArray(body.config_instances) ? body.config_instances : [];
  return {
    is_valid: body.is_valid,
    message: text(body.message),
    config_instances: instances.filter(isObject).map((ci) => ({
      id: text(ci.id),
      message: text(ci.message),
      parameters: (Array.isArray(ci.parameters) ? ci.parameters : []).filter(isObject).map((p) => ({
        message: text(p.message),
        path: (Array.isArray(p.path) ? p.path : []).map((s) => String(s)),
      })),
    })),
  };
}

/** An invalid verdict: the create is refused with the receiver's messages per instance and path. */
export function invalidDeploymentError(verdict: ValidationVerdict, endpointId: string): BosunError {
  return unprocessable(
    'deployment_invalid',
    verdict.message
      ? `Custom validation refused the deployment: ${verdict.message}`
      : 'Custom validation refused the deployment.',
    { endpoint_id: endpointId, message: verdict.message, config_instances: verdict.config_instances },
  );
}

/**
 * No usable answer (timeout, network error, non-2xx, not a verdict) from a validator while the
 * release fails closed: 409 `deployment_validation_unavailable` (the release's validation cannot be
 * satisfied right now: a state conflict, not bad input and not a server fault), nothing created.
 */
export function validationUnavailableError(endpointId: string, reason: string): BosunError {
  return conflict(
    'deployment_validation_unavailable',
    `Custom validation did not answer (${reason}); the release fails closed, so no deployment was created.`,
    { endpoint_id: endpointId, reason },
  );
}

// ----- SSRF ---------------------------------------------------------------------------------------

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 of any IPv4, private ones included
  ['2001:db8::', 32],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv6');

/**
 * Whether a webhook may connect to `address` (an IP literal) when private targets are not allowed:
 * loopback, private, link-local, CGNAT, multicast and reserved ranges are refused, IPv4-mapped IPv6
 * is judged by its IPv4 address. Anything that is not an IP address is refused.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !BLOCKED.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  return !BLOCKED.check(address, 'ipv6');
}

/**
 * The URL rule of an endpoint: absolute, https (http only when private targets are allowed, for
 * local receivers), no credentials, and when private targets are not allowed no IP literal that is
 * not public. Host names are checked after resolution, on every attempt, by the sender.
 */
export function checkWebhookUrl(text: string, allowPrivate: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badRequest('invalid_url', `'${text}' is not an absolute URL.`, { field: 'url' });
  }
  const bad = (why: string) =>
    unprocessable('url_not_allowed', `Webhook URL refused: ${why}.`, { field: 'url' });
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) throw bad('https only');
  if (url.username || url.password) throw bad('credentials in the URL');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) && !isPublicAddress(host)) throw bad(`${host} is not a public address`);
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) throw bad('localhost');
  return url.toString();
}
