import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BosunError,
  contactWriteDue,
  decodeDeviceJwt,
  deviceStatus,
  isConnected,
  keyFingerprint,
  MAX_PING_TIMEOUT_NANOS,
  parseDevicePublicKey,
  pingTimeoutMs,
  sessionEndedSinceContact,
  signDeviceJwt,
  verifyDeviceJwtSignature,
} from '../src/index.ts';

const keys = () => generateKeyPairSync('ed25519');
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof BosunError ? `${err.status} ${err.code}` : String(err);
  }
  return 'no error';
};

describe('device status (60 s rule)', () => {
  const now = Date.parse('2026-06-01T12:00:00.000Z');
  const base = { last_connected_at: null, last_disconnected_at: null, last_seen_at: null };
  it('inactive and activating are shown as stored', () => {
    expect(deviceStatus({ ...base, status: 'inactive', last_seen_at: '2026-06-01T12:00:00.000Z' }, now)).toBe(
      'inactive',
    );
    expect(deviceStatus({ ...base, status: 'activating' }, now)).toBe('activating');
  });
  it('heard from within 60 s is online; 60 s or more ago is offline', () => {
    expect(deviceStatus({ ...base, status: 'online', last_seen_at: '2026-06-01T11:59:00.001Z' }, now)).toBe(
      'online',
    );
    expect(deviceStatus({ ...base, status: 'online', last_seen_at: '2026-06-01T11:59:00.000Z' }, now)).toBe(
      'offline',
    );
    expect(deviceStatus({ ...base, status: 'offline' }, now)).toBe('offline');
  });
  it('an open MQTT session is online however long ago it opened', () => {
    const r = { ...base, status: 'online' as const, last_connected_at: '2026-06-01T08:00:00.000Z' };
    expect(isConnected(r)).toBe(true);
    expect(deviceStatus(r, now)).toBe('online');
    const closed = { ...r, last_disconnected_at: '2026-06-01T09:00:00.000Z' };
    expect(isConnected(closed)).toBe(false);
    expect(deviceStatus(closed, now)).toBe('offline');
    expect(isConnected({ ...closed, last_connected_at: '2026-06-01T10:00:00.000Z' })).toBe(true);
  });
  it('a session that ended is offline at once, however recent the last contact; contact after it counts again', () => {
    const r = {
      ...base,
      status: 'online' as const,
      last_connected_at: '2026-06-01T11:50:00.000Z',
      last_seen_at: '2026-06-01T11:59:50.000Z',
    };
    // A clean stop (or the broker noticing a lost agent) 5 s ago: offline, not "online for a minute".
    const stopped = { ...r, last_disconnected_at: '2026-06-01T11:59:55.000Z' };
    expect(sessionEndedSinceContact(stopped)).toBe(true);
    expect(deviceStatus(stopped, now)).toBe('offline');
    // Recorded in the same instant as the last contact (older servers wrote both at once): still ended.
    expect(deviceStatus({ ...r, last_disconnected_at: r.last_seen_at }, now)).toBe('offline');
    // The agent polls over HTTP after its push session dropped: online again within the window.
    const polled = { ...stopped, last_seen_at: '2026-06-01T11:59:58.000Z' };
    expect(deviceStatus(polled, now)).toBe('online');
  });
  it('contact is written at most every interval, except the first call after a session ended', () => {
    const seen = { last_seen_at: '2026-06-01T11:59:55.000Z', last_disconnected_at: null };
    expect(contactWriteDue(seen, now, 15_000)).toBe(false);
    expect(contactWriteDue(seen, now + 10_000, 15_000)).toBe(true);
    expect(contactWriteDue({ last_seen_at: null, last_disconnected_at: null }, now, 15_000)).toBe(true);
    expect(contactWriteDue({ ...seen, last_disconnected_at: '2026-06-01T11:59:58.000Z' }, now, 15_000)).toBe(
      true,
    );
  });
});

describe('ping timeout', () => {
  it('≤ 0 is 400; above 10 s is clamped; otherwise converted to milliseconds', () => {
    expect(code(() => pingTimeoutMs(0))).toBe('400 invalid_timeout');
    expect(code(() => pingTimeoutMs(-5))).toBe('400 invalid_timeout');
    expect(pingTimeoutMs(MAX_PING_TIMEOUT_NANOS * 100)).toBe(10_000);
    expect(pingTimeoutMs(1_500_000_000)).toBe(1500);
    expect(pingTimeoutMs(1)).toBe(1);
  });
});

describe('device JWT', () => {
  const now = 1_800_000_000;
  it('round-trips: signed by the device key, verified with its public key', () => {
    const { privateKey, publicKey } = keys();
    const kid = keyFingerprint(publicKey);
    expect(kid).toMatch(/^[0-9a-f]{64}$/);
    const jwt = signDeviceJwt(privateKey, { deviceId: 'dvc_1', kid, now });
    const decoded = decodeDeviceJwt(jwt, now);
    expect(decoded.header).toMatchObject({ alg: 'EdDSA', typ: 'JWT', kid });
    expect(decoded.claims).toMatchObject({ sub: 'dvc_1', iat: now, exp: now + 120 });
    expect(verifyDeviceJwtSignature(decoded, publicKey)).toBe(true);
    expect(verifyDeviceJwtSignature(decoded, keys().publicKey)).toBe(false);
  });
  it('a tampered payload fails the signature', () => {
    const { privateKey, publicKey } = keys();
    const jwt = signDeviceJwt(privateKey, { deviceId: 'dvc_1', kid: keyFingerprint(publicKey), now });
    const [h, , s] = jwt.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'dvc_2', iat: now, exp: now + 60, jti: 'aaaaaaaaaa' })).toString('base64url')}.${s}`;
    expect(verifyDeviceJwtSignature(decodeDeviceJwt(forged, now), publicKey)).toBe(false);
  });
  it('refuses expired, future, over-long and malformed tokens with 401 invalid_device_jwt', () => {
    const { privateKey, publicKey } = keys();
    const kid = keyFingerprint(publicKey);
    const jwt = (o: Partial<{ now: number; lifetimeSeconds: number }>) =>
      signDeviceJwt(privateKey, { deviceId: 'dvc_1', kid, now, ...o });
    expect(code(() => decodeDeviceJwt(jwt({ now: now - 200, lifetimeSeconds: 120 }), now))).toBe(
      '401 invalid_device_jwt',
    );
    expect(code(() => decodeDeviceJwt(jwt({ now: now + 120 }), now))).toBe('401 invalid_device_jwt');
    expect(code(() => decodeDeviceJwt(jwt({ lifetimeSeconds: 301 }), now))).toBe('401 invalid_device_jwt');
    expect(code(() => decodeDeviceJwt('abc.def', now))).toBe('401 invalid_device_jwt');
    // Within the 30 s skew both ways.
    expect(code(() => decodeDeviceJwt(jwt({ now: now + 20 }), now))).toBe('no error');
    expect(code(() => decodeDeviceJwt(jwt({ now: now - 140 }), now))).toBe('no error');
  });
  it('only Ed25519 PEM public keys are accepted', () => {
    expect(
      parseDevicePublicKey(keys().publicKey.export({ type: 'spki', format: 'pem' }).toString())
        .asymmetricKeyType,
    ).toBe('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(code(() => parseDevicePublicKey(rsa.toString()))).toBe('400 invalid_public_key');
    expect(code(() => parseDevicePublicKey('not a key'))).toBe('400 invalid_public_key');
  });
});
