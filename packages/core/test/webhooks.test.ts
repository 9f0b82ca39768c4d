import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BosunError,
  checkEventTypes,
  checkWebhookUrl,
  DELIVERY_RETRY,
  invalidDeploymentError,
  isDelivered,
  isPublicAddress,
  matchesEventType,
  nextDeliveryAttempt,
  parseVerdict,
  validationUnavailableError,
  WEBHOOK_EVENT_TYPES,
} from '../src/index.ts';

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as BosunError;
  }
  throw new Error('expected an error');
};

describe('event types', () => {
  it('accepts names, * and prefix.* ; refuses unknown names (422) and an empty list (400)', () => {
    expect(checkEventTypes(['device.created', 'device.created', ' deployment.* '])).toEqual([
      'device.created',
      'deployment.*',
    ]);
    expect(checkEventTypes(['*'])).toEqual(['*']);
    const unknown = errorOf(() => checkEventTypes(['device.created', 'robot.*', 'device.exploded']));
    expect(unknown).toMatchObject({ status: 422, code: 'unknown_event_type' });
    expect(unknown.params.unknown).toEqual(['robot.*', 'device.exploded']);
    expect(errorOf(() => checkEventTypes([]))).toMatchObject({ status: 400 });
  });

  it('matches exact names and wildcards; deployment.validate only by name', () => {
    expect(matchesEventType(['device.*'], 'device.online')).toBe(true);
    expect(matchesEventType(['device.*'], 'deployment.created')).toBe(false);
    expect(matchesEventType(['*'], 'release.created')).toBe(true);
    expect(matchesEventType(['*'], 'deployment.validate')).toBe(false);
    expect(matchesEventType(['deployment.*'], 'deployment.validate')).toBe(false);
    expect(matchesEventType(['deployment.validate'], 'deployment.validate')).toBe(true);
    expect(matchesEventType(['device.created'], 'device.created.extra')).toBe(false);
  });

  it('rollout events are in the catalogue and rollout.* subscribes to all six', () => {
    const rollout = WEBHOOK_EVENT_TYPES.filter((t) => t.startsWith('rollout.'));
    expect(rollout).toEqual([
      'rollout.created',
      'rollout.wave_started',
      'rollout.paused',
      'rollout.resumed',
      'rollout.completed',
      'rollout.aborted',
    ]);
    expect(checkEventTypes(['rollout.*', 'rollout.paused'])).toEqual(['rollout.*', 'rollout.paused']);
    for (const type of rollout) expect(matchesEventType(['rollout.*'], type)).toBe(true);
    expect(matchesEventType(['rollout.*'], 'release.created')).toBe(false);
    expect(errorOf(() => checkEventTypes(['rollout.exploded'])).code).toBe('unknown_event_type');
  });
});

describe('delivery retries', () => {
  it('2xx only is delivered', () => {
    expect([200, 204, 299].every(isDelivered)).toBe(true);
    expect([null, 199, 300, 302, 404, 500].some(isDelivered)).toBe(false);
  });

  it('full jitter under a doubling ceiling, never past the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, r) => {
          const first = 1_000_000;
          const now = first + n * 1000;
          const next = nextDeliveryAttempt(n, first, now, DELIVERY_RETRY, () => r);
          if (next === null) return true;
          expect(next.ceilingMs).toBe(Math.min(DELIVERY_RETRY.capMs, DELIVERY_RETRY.baseMs * 2 ** (n - 1)));
          expect(next.delayMs).toBeLessThanOrEqual(next.ceilingMs);
          expect(next.at).toBeLessThanOrEqual(first + DELIVERY_RETRY.windowMs);
          return true;
        },
      ),
    );
  });

  it('gives up once the next attempt would start after the window (24 h by default)', () => {
    const first = 0;
    expect(nextDeliveryAttempt(3, first, DELIVERY_RETRY.windowMs - 1, DELIVERY_RETRY, () => 0.99)).toBeNull();
    expect(nextDeliveryAttempt(3, first, 0, DELIVERY_RETRY, () => 0.5)).not.toBeNull();
    // With the largest draws the schedule spans roughly a day before giving up.
    let now = 0;
    let attempts = 1;
    for (;;) {
      const next = nextDeliveryAttempt(attempts, 0, now, DELIVERY_RETRY, () => 0.999999);
      if (!next) break;
      now = next.at;
      attempts++;
    }
    expect(now).toBeGreaterThan(20 * 3_600_000);
    expect(attempts).toBeGreaterThan(10);
  });
});

describe('SSRF rule', () => {
  it('refuses loopback, private, link-local, CGNAT, multicast, mapped and NAT64 addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.0.10',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      'not-an-ip',
    ])
      expect(isPublicAddress(ip), ip).toBe(false);
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect(isPublicAddress(ip), ip).toBe(true);
  });

  it('URLs: https only, no credentials, no private literal or localhost unless allowed', () => {
    expect(checkWebhookUrl('https://hooks.example.com/x', false)).toBe('https://hooks.example.com/x');
    for (const url of [
      'http://hooks.example.com/x',
      'https://user:pw@hooks.example.com/',
      'https://127.0.0.1/',
      'https://[::1]:8443/',
      'https://localhost/',
      'https://api.localhost/',
    ])
      expect(
        errorOf(() => checkWebhookUrl(url, false)),
        url,
      ).toMatchObject({ status: 422, code: 'url_not_allowed' });
    expect(errorOf(() => checkWebhookUrl('nope', false))).toMatchObject({ status: 400, code: 'invalid_url' });
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook', true)).toBe('http://127.0.0.1:9000/hook');
    expect(errorOf(() => checkWebhookUrl('ftp://127.0.0.1/', true))).toMatchObject({ status: 422 });
  });
});

describe('deployment.validate verdicts', () => {
  it('reads a verdict, defaulting missing parts; anything else is no verdict', () => {
    expect(parseVerdict({ is_valid: true })).toEqual({ is_valid: true, message: '', config_instances: [] });
    expect(
      parseVerdict({
        is_valid: false,
        message: 'no',
        config_instances: [
          { id: 'cfg_inst_1', parameters: [{ message: 'too fast', path: ['limits', 0] }] },
          7,
        ],
      }),
    ).toEqual({
      is_valid: false,
      message: 'no',
      config_instances: [
        { id: 'cfg_inst_1', message: '', parameters: [{ message: 'too fast', path: ['limits', '0'] }] },
      ],
    });
    for (const body of [null, [], 'yes', { is_valid: 'true' }, { valid: true }])
      expect(parseVerdict(body)).toBeNull();
  });

  it('invalid is a 422 with the receiver details; no verdict is a distinct 409', () => {
    const v = parseVerdict({ is_valid: false, message: 'limits', config_instances: [] })!;
    expect(invalidDeploymentError(v, 'ep_1')).toMatchObject({
      status: 422,
      code: 'deployment_invalid',
      params: { endpoint_id: 'ep_1', message: 'limits', config_instances: [] },
    });
    expect(validationUnavailableError('ep_1', 'HTTP 500')).toMatchObject({
      status: 409,
      code: 'deployment_validation_unavailable',
      params: { endpoint_id: 'ep_1', reason: 'HTTP 500' },
    });
  });
});
