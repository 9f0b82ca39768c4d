import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyFingerprint, signDeviceJwt } from '@bosun/core/device-jwt';
import { fsyncDir, isNotFound, mkdirDurably, readJson, writeJsonAtomically } from './fsutil.ts';

/**
 * The device identity in the state dir (docs/agent-protocol.md "Identity"): an Ed25519 key pair that
 * never leaves the device, and what activation returned.
 */

export interface DeviceRecord {
  device_id: string;
  name: string;
  server_url: string;
  mqtt: { url: string | null; topic_prefix: string };
  activated_at: string;
}

export interface Identity {
  device: DeviceRecord;
  privateKey: KeyObject;
  kid: string;
}

export const identityPaths = (stateDir: string) => ({
  dir: join(stateDir, 'identity'),
  privateKey: join(stateDir, 'identity', 'private_key.pem'),
  publicKey: join(stateDir, 'identity', 'public_key.pem'),
  device: join(stateDir, 'identity', 'device.json'),
});

/**
 * Creates the key pair unless one exists; returns the public key PEM. The private key file is created
 * with mode 0600 in the open() call itself, so it is never readable by others, not even briefly.
 */
export async function ensureKeyPair(stateDir: string): Promise<string> {
  const paths = identityPaths(stateDir);
  await mkdirDurably(paths.dir);
  try {
    return await readFile(paths.publicKey, 'utf8');
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await writeNew(paths.privateKey, privatePem, 0o600);
  // The public key is written last: its presence means the pair is complete.
  await writeNew(paths.publicKey, publicPem, 0o644);
  await fsyncDir(paths.dir);
  return publicPem;
}

async function writeNew(path: string, data: string, mode: number): Promise<void> {
  const handle = await open(path, 'w', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function saveDevice(stateDir: string, device: DeviceRecord): Promise<void> {
  await writeJsonAtomically(identityPaths(stateDir).device, device, 0o600);
}

export async function readDevice(stateDir: string): Promise<DeviceRecord | undefined> {
  return readJson<DeviceRecord>(identityPaths(stateDir).device);
}

/** The activated identity, or an error telling the operator to provision first. */
export async function loadIdentity(stateDir: string): Promise<Identity> {
  const paths = identityPaths(stateDir);
  const device = await readDevice(stateDir);
  if (!device) {
    throw new Error(`no activated device in ${stateDir}: run 'bosun agent provision' first`);
  }
  const privateKey = createPrivateKey(await readFile(paths.privateKey, 'utf8'));
  return { device, privateKey, kid: keyFingerprint(createPublicKey(privateKey)) };
}

/** The proof-of-possession JWT for `POST /agent/v1/token`. */
export function deviceJwt(identity: Identity): Promise<string> {
  return signDeviceJwt(identity.privateKey, { deviceId: identity.device.device_id, kid: identity.kid });
}
