import {
  invalidDeploymentError,
  isDelivered,
  newId,
  parseVerdict,
  VALIDATE_EVENT_TYPE,
  validationUnavailableError,
} from '@bosun/core';
import { nowIso } from '../db/time.ts';
import type { WebhookStore } from '../storage/webhooks.ts';
import { postSigned, type SendOptions } from './send.ts';

export interface DeploymentToValidate {
  id: string;
  device_id: string;
  release_id: string;
  created_at: string;
}

/**
 * `deployment.validate` (docs/decisions.md, webhooks): when the release has custom validation on,
 * asks every enabled endpoint subscribed to it, at once, with the tetons envelope (signed). Returns
 * null when the release has it off (the tetons behaviour), else the verdict text to keep on the
 * deployment's creation event. Throws 422 `deployment_invalid` when a receiver says invalid, and
 * 503 `deployment_validation_unavailable` when one gives no verdict and the release fails closed.
 */
export async function validateDeployment(
  store: WebhookStore,
  opts: SendOptions,
  deployment: DeploymentToValidate,
): Promise<string | null> {
  const mode = await store.validationMode(deployment.release_id);
  if (!mode) return null;
  const validators = await store.validators();
  if (!validators.length) {
    const reason = `no enabled endpoint subscribes to ${VALIDATE_EVENT_TYPE}`;
    if (mode === 'fail_closed') throw validationUnavailableError('', reason);
    return `Custom validation: no verdict (${reason}); created because the release fails open.`;
  }
  const envelope = {
    id: newId('event'),
    object: 'event',
    timestamp: nowIso(),
    type: VALIDATE_EVENT_TYPE,
    data: { deployment: { object: 'deployment', ...deployment } },
  };
  const body = JSON.stringify(envelope);
  const answers = await Promise.all(
    validators.map(async (v) => {
      const r = await postSigned(v.record.url, envelope.id, body, v.secrets, opts);
      let verdict = null;
      if (isDelivered(r.status) && r.body !== null) {
        try {
          verdict = parseVerdict(JSON.parse(r.body));
        } catch {
          verdict = null;
        }
      }
      const reason = verdict
        ? ''
        : r.error
          ? r.error
          : isDelivered(r.status)
            ? 'the answer is not a verdict'
            : `HTTP ${r.status}`;
      return { endpointId: v.record.id, verdict, reason };
    }),
  );
  const invalid = answers.find((a) => a.verdict && !a.verdict.is_valid);
  if (invalid?.verdict) throw invalidDeploymentError(invalid.verdict, invalid.endpointId);
  const missing = answers.find((a) => !a.verdict);
  if (missing && mode === 'fail_closed') throw validationUnavailableError(missing.endpointId, missing.reason);
  return answers
    .map((a) =>
      a.verdict
        ? `Custom validation by ${a.endpointId}: valid${a.verdict.message ? ` (${a.verdict.message})` : ''}.`
        : `Custom validation by ${a.endpointId}: no verdict (${a.reason}); created because the release fails open.`,
    )
    .join(' ');
}
