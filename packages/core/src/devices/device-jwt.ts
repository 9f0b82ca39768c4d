import { createHash, createPublicKey, type KeyObject, randomUUID, sign, verify } from 'node:crypto';
import { BosunError, badRequest } from '../errors.ts';

/**
 * Device identity (docs/agent-protocol.md): an Ed25519 key generated on the device, named by its
 * fingerprint, and short-lived JWTs the agent signs to prove it holds the private key. Shared by the
 * server (verify) and the agent (sign) so both follow one definition.
 */

/** Clock skew tolerated between device and server. */
export const JWT_SKEW_SECONDS = 30;
/** The longest validity a device JWT may claim (exp − iat). */
export const JWT_MAX_LIFETIME_SECONDS = 300;
/** What the agent asks for by default. */
export const JWT_DEFAULT_LIFETIME_SECONDS = 120;

export interface DeviceJwtClaims {
  sub: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface DecodedDeviceJwt {
  header: { alg: string; typ?: string; kid: string };
  claims: DeviceJwtClaims;
  signingInput: string;
  signature: Buffer;
}

/** Parses a PEM public key and insists on Ed25519; 400 names the field otherwise. */
export function parseDevicePublicKey(pem: string, field = 'public_key_pem'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw badRequest('invalid_public_key', `Field '${field}' is not a PEM-encoded public key.`, { field });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw badRequest(
      'invalid_public_key',
      `Field '${field}' must be an Ed25519 public key, got ${key.asymmetricKeyType ?? 'an unknown type'}.`,
      { field, key_type: key.asymmetricKeyType ?? null },
    );
  }
  return key;
}

/** Lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo: the JWT `kid`. */
export function keyFingerprint(key: KeyObject | string): string {
  const k = typeof key === 'string' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The canonical PEM of a key, so the same key is always stored as the same text. */
export function canonicalPublicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Signs a proof-of-possession JWT (`alg: EdDSA`). `now` is in seconds. */
export function signDeviceJwt(
  privateKey: KeyObject | string,
  opts: {
    deviceId: string;
    kid: string;
    now?: number;
    lifetimeSeconds?: number;
    jti?: string;
  },
): string {
  const iat = opts.now ?? Math.floor(Date.now() / 1000);
  const header = { alg: 'EdDSA', typ: 'JWT', kid: opts.kid };
  const claims: DeviceJwtClaims = {
    sub: opts.deviceId,
    iat,
    exp: iat + (opts.lifetimeSeconds ?? JWT_DEFAULT_LIFETIME_SECONDS),
    jti: opts.jti ?? randomUUID(),
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign(null, Buffer.from(signingInput), privateKey);
  return `${signingInput}.${b64url(signature)}`;
}

const invalid = (message: string, params: Record<string, unknown> = {}) =>
  new BosunError(401, 'invalid_device_jwt', message, params);

/** Structural parse and claim checks (no signature yet: the key is looked up by `sub`/`kid` first). */
export function decodeDeviceJwt(token: string, nowSeconds: number): DecodedDeviceJwt {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw invalid('The bearer token is not a compact JWT (three base64url parts).');
  }
  let header: any;
  let claims: any;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw invalid('The JWT header or payload is not JSON.');
  }
  if (!header || typeof header !== 'object' || header.alg !== 'EdDSA') {
    throw invalid("The JWT must be signed with alg 'EdDSA'.", { field: 'alg' });
  }
  if (typeof header.kid !== 'string' || !/^[0-9a-f]{64}$/.test(header.kid)) {
    throw invalid("The JWT header needs 'kid', the key fingerprint (64 hex characters).", { field: 'kid' });
  }
  if (!claims || typeof claims !== 'object') throw invalid('The JWT payload must be an object.');
  const { sub, iat, exp, jti } = claims;
  if (typeof sub !== 'string' || sub.length === 0)
    throw invalid("The JWT needs 'sub', the device id.", { field: 'sub' });
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) {
    throw invalid("The JWT needs integer 'iat' and 'exp' (seconds).", { field: 'exp' });
  }
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 128) {
    throw invalid("The JWT needs 'jti', a unique id of 8 to 128 characters.", { field: 'jti' });
  }
  if (exp <= iat || exp - iat > JWT_MAX_LIFETIME_SECONDS) {
    throw invalid(`The JWT must expire within ${JWT_MAX_LIFETIME_SECONDS} s of being issued.`, {
      field: 'exp',
    });
  }
  if (iat > nowSeconds + JWT_SKEW_SECONDS)
    throw invalid('The JWT was issued in the future.', { field: 'iat' });
  if (exp <= nowSeconds - JWT_SKEW_SECONDS) throw invalid('The JWT has expired.', { field: 'exp' });
  return {
    header: { alg: header.alg, typ: header.typ, kid: header.kid },
    claims: { sub, iat, exp, jti },
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2]!, 'base64url'),
  };
}

/** True when `signature` over `signingInput` was made by the private half of `publicKey`. */
export function verifyDeviceJwtSignature(decoded: DecodedDeviceJwt, publicKey: KeyObject | string): boolean {
  try {
    return verify(null, Buffer.from(decoded.signingInput), publicKey, decoded.signature);
  } catch {
    return false;
  }
}
