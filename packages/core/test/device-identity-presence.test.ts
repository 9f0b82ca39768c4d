import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  keyFingerprint,
  parseDevicePublicKey,
  readDeviceJwt,
  signDeviceJwt,
  verifyDeviceJwt,
} from '../src/devices/device-jwt.ts';
import {
  BosunError,
  contactWriteDue,
  deviceStatus,
  isConnected,
  MAX_PING_TIMEOUT_NANOS,
  pingTimeoutMs,
  sessionEndedSinceContact,
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

describe('device JWT (jose, alg pinned to EdDSA)', () => {
  const now = 1_800_000_000;
  const refusal = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err instanceof BosunError
        ? `${err.status} ${err.code} ${String((err.params as { field?: unknown }).field)}`
        : String(err);
    }
    return 'no error';
  };
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const device = () => {
    const { privateKey, publicKey } = keys();
    const kid = keyFingerprint(publicKey);
    return { privateKey, publicKey, kid, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  };

  it('round-trips: signed by the device key, verified with its public key, in the wire format', async () => {
    const { privateKey, publicKey, kid } = device();
    expect(kid).toMatch(/^[0-9a-f]{64}$/);
    const jwt = await signDeviceJwt(privateKey, { deviceId: 'dvc_1', kid, now, jti: 'jti-00000001' });
    const [h, p] = jwt.split('.');
    // The wire format older servers and agents speak: header {alg, typ, kid}; claims sub, iat, exp, jti.
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: 'JWT', kid });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({
      sub: 'dvc_1',
      iat: now,
      exp: now + 120,
      jti: 'jti-00000001',
    });
    expect(readDeviceJwt(jwt)).toEqual({ kid, sub: 'dvc_1' });
    expect(await verifyDeviceJwt(jwt, publicKey, now)).toEqual({
      sub: 'dvc_1',
      iat: now,
      exp: now + 120,
      jti: 'jti-00000001',
    });
    expect(await refusal(verifyDeviceJwt(jwt, keys().publicKey, now))).toBe(
      '401 invalid_device_jwt signature',
    );
  });

  it('a tampered payload fails the signature', async () => {
    const { privateKey, publicKey, kid } = device();
    const jwt = await signDeviceJwt(privateKey, { deviceId: 'dvc_1', kid, now });
    const [h, , s] = jwt.split('.');
    const forged = `${h}.${b64({ sub: 'dvc_2', iat: now, exp: now + 60, jti: 'aaaaaaaaaa' })}.${s}`;
    expect(readDeviceJwt(forged).sub).toBe('dvc_2');
    expect(await refusal(verifyDeviceJwt(forged, publicKey, now))).toBe('401 invalid_device_jwt signature');
  });

  it('refuses alg confusion: none, HS256 keyed with the public key, RS256/ES256 headers', async () => {
    const { publicKey, pem, kid } = device();
    const claims = { sub: 'dvc_1', iat: now, exp: now + 60, jti: 'jti-00000001' };
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`;
    // The classic confusion: an HMAC over the token with the (public) PEM as the secret.
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims)}`;
    const hs = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
    const rs = `${b64({ alg: 'RS256', kid })}.${b64(claims)}.AAAA`;
    for (const token of [unsigned, hs, rs]) {
      expect(() => readDeviceJwt(token)).toThrow(/alg 'EdDSA'/);
      expect(await refusal(verifyDeviceJwt(token, publicKey, now))).toMatch(/^401 invalid_device_jwt/);
    }
  });

  it('refuses expired, future, over-long, claim-less and malformed tokens with 401 invalid_device_jwt', async () => {
    const { privateKey, publicKey, kid } = device();
    const jwt = (o: Partial<{ now: number; lifetimeSeconds: number; jti: string }>) =>
      signDeviceJwt(privateKey, { deviceId: 'dvc_1', kid, now, ...o });
    const check = async (o: Parameters<typeof jwt>[0]) =>
      refusal(verifyDeviceJwt(await jwt(o), publicKey, now));
    expect(await check({ now: now - 200, lifetimeSeconds: 120 })).toBe('401 invalid_device_jwt exp');
    expect(await check({ now: now + 120 })).toBe('401 invalid_device_jwt iat');
    expect(await check({ lifetimeSeconds: 301 })).toBe('401 invalid_device_jwt exp');
    expect(await check({ lifetimeSeconds: 0 })).toBe('401 invalid_device_jwt exp');
    expect(await check({ jti: 'short' })).toBe('401 invalid_device_jwt jti');
    // Within the 30 s skew both ways.
    expect(await check({ now: now + 20 })).toBe('no error');
    expect(await check({ now: now - 140 })).toBe('no error');
    // Signed, but without the claims the token endpoint needs.
    const ed = privateKey;
    for (const [missing, claims] of [
      ['jti', { sub: 'dvc_1', iat: now, exp: now + 60 }],
      ['iat', { sub: 'dvc_1', exp: now + 60, jti: 'jti-00000001' }],
      ['exp', { sub: 'dvc_1', iat: now, jti: 'jti-00000001' }],
    ] as const) {
      const input = `${b64({ alg: 'EdDSA', typ: 'JWT', kid })}.${b64(claims)}`;
      const token = `${input}.${sign(null, Buffer.from(input), ed).toString('base64url')}`;
      expect(await refusal(verifyDeviceJwt(token, publicKey, now)), missing).toBe(
        `401 invalid_device_jwt ${missing}`,
      );
    }
    for (const bad of ['abc.def', 'a.b.c', '', `${b64({ alg: 'EdDSA', kid })}.${b64({ iat: now })}.x`]) {
      expect(() => readDeviceJwt(bad), bad).toThrow(BosunError);
      expect(await refusal(verifyDeviceJwt(bad, publicKey, now)), bad).toMatch(/^401 invalid_device_jwt/);
    }
    expect(() => readDeviceJwt(`${b64({ alg: 'EdDSA', kid: 'nope' })}.${b64({ sub: 'd' })}.x`)).toThrow(
      /kid/,
    );
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
