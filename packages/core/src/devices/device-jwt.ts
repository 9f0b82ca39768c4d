import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomUUID } from 'node:crypto';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
  SignJWT,
} from 'jose';
import { BosunError, badRequest } from '../errors.ts';

/**
 * Device identity (docs/agent-protocol.md): an Ed25519 key generated on the device, named by its
 * fingerprint, and short-lived JWTs the agent signs to prove it holds the private key. Shared by the
 * server (verify) and the agent (sign) so both follow one definition; signing and verification are
 * jose's, with the algorithm pinned (docs/decisions.md, archagent section).
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

/** What a device JWT claims about itself before it is verified: enough to look its key up. */
export interface UnverifiedDeviceJwt {
  kid: string;
  sub: string;
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

/** The one signature algorithm of device JWTs: pinned on both sides, never read from the token. */
export const DEVICE_JWT_ALG = 'EdDSA';

/** Signs a proof-of-possession JWT (`alg: EdDSA`, `typ: JWT`, `kid`; claims sub, iat, exp, jti). `now` is in seconds. */
export function signDeviceJwt(
  privateKey: KeyObject | string,
  opts: {
    deviceId: string;
    kid: string;
    now?: number;
    lifetimeSeconds?: number;
    jti?: string;
  },
): Promise<string> {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const iat = opts.now ?? Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: DEVICE_JWT_ALG, typ: 'JWT', kid: opts.kid })
    .setSubject(opts.deviceId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.lifetimeSeconds ?? JWT_DEFAULT_LIFETIME_SECONDS))
    .setJti(opts.jti ?? randomUUID())
    .sign(key);
}

const invalid = (message: string, params: Record<string, unknown> = {}) =>
  new BosunError(401, 'invalid_device_jwt', message, params);

/**
 * Reads the header and the subject of a device JWT without trusting them, to find the key that must
 * have signed it. The algorithm is pinned here already, so an unsigned or HMAC token is refused before
 * any key lookup. Nothing else of the token is believed until `verifyDeviceJwt` has checked it.
 */
export function readDeviceJwt(token: string): UnverifiedDeviceJwt {
  let header: ProtectedHeaderParameters;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw invalid('The bearer token is not a compact JWT (three base64url parts, JSON header and payload).');
  }
  if (header.alg !== DEVICE_JWT_ALG) {
    throw invalid(`The JWT must be signed with alg '${DEVICE_JWT_ALG}'.`, { field: 'alg' });
  }
  if (typeof header.kid !== 'string' || !/^[0-9a-f]{64}$/.test(header.kid)) {
    throw invalid("The JWT header needs 'kid', the key fingerprint (64 hex characters).", { field: 'kid' });
  }
  if (typeof claims.sub !== 'string' || claims.sub.length === 0)
    throw invalid("The JWT needs 'sub', the device id.", { field: 'sub' });
  return { kid: header.kid, sub: claims.sub };
}

/**
 * Verifies a device JWT with jose against the device's registered key: the pinned algorithm (no
 * `none`, no HMAC with the public key as secret), the signature, then the claims — `sub` and `jti`
 * present, integer `iat`/`exp`, not issued in the future and not expired (both within the skew), and
 * a lifetime of at most `JWT_MAX_LIFETIME_SECONDS`. Every failure is 401 `invalid_device_jwt` naming
 * the field. Device JWTs carry no `aud`: the token endpoint is their only consumer and each `jti` is
 * spent once (docs/agent-protocol.md).
 */
export async function verifyDeviceJwt(
  token: string,
  publicKey: KeyObject | string,
  nowSeconds: number,
): Promise<DeviceJwtClaims> {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [DEVICE_JWT_ALG],
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      clockTolerance: JWT_SKEW_SECONDS,
      maxTokenAge: JWT_MAX_LIFETIME_SECONDS,
      currentDate: new Date(nowSeconds * 1000),
    }));
  } catch (err) {
    throw joseRefusal(err);
  }
  const { sub, iat, exp, jti } = payload;
  if (typeof sub !== 'string' || sub.length === 0)
    throw invalid("The JWT needs 'sub', the device id.", { field: 'sub' });
  if (!Number.isInteger(iat) || !Number.isInteger(exp) || iat === undefined || exp === undefined) {
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
  return { sub, iat, exp, jti };
}

/** jose's reasons, as the envelope's field and message. */
function joseRefusal(err: unknown): BosunError {
  if (err instanceof errors.JWTExpired) return invalid('The JWT has expired.', { field: err.claim });
  if (err instanceof errors.JWTClaimValidationFailed) {
    const message =
      err.claim === 'iat' && err.reason === 'check_failed'
        ? 'The JWT was issued in the future.'
        : `The JWT's '${err.claim}' claim is missing or invalid.`;
    return invalid(message, { field: err.claim });
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return invalid(`The JWT must be signed with alg '${DEVICE_JWT_ALG}'.`, { field: 'alg' });
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return invalid("The JWT's signature does not verify against the device's registered key.", {
      field: 'signature',
    });
  }
  return invalid('The bearer token is not a valid device JWT.');
}
