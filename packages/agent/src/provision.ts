import { chmod } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createNodeFetch } from '@bosun/sdk/node-fetch';
import { activate } from './client.ts';
import { mkdirDurably } from './fsutil.ts';
import { type DeviceRecord, ensureKeyPair, readDevice, saveDevice } from './identity.ts';
import { readCaBundle, storeCaBundle } from './tls.ts';

export interface ProvisionOptions {
  server: string;
  token: string;
  stateDir: string;
  /** Activate again even if the state dir already holds an activated device (rebinds). */
  reprovision?: boolean;
  /** PEM CA bundle the server and broker certificates chain to; stored for `run` (docs/decisions.md #85). */
  caFile?: string;
}

export type ProvisionResult = { outcome: 'activated' | 'already_activated'; device: DeviceRecord };

/**
 * Enrols this machine: key pair (kept if one exists, so a retried provision never rotates keys),
 * activation with the one-time token, identity stored. On an activated state dir it is a no-op
 * without any network call, unless `reprovision` asks to rebind.
 */
export async function provision(opts: ProvisionOptions): Promise<ProvisionResult> {
  const existing = await readDevice(opts.stateDir);
  if (existing && !opts.reprovision) return { outcome: 'already_activated', device: existing };
  // A bad bundle is refused before anything is written or sent.
  const ca = opts.caFile ? await readCaBundle(opts.caFile) : undefined;
  await mkdirDurably(opts.stateDir);
  await chmod(opts.stateDir, 0o700);
  const publicKeyPem = await ensureKeyPair(opts.stateDir);
  const server = opts.server.replace(/\/+$/, '');
  const answer = await activate(
    server,
    {
      token: opts.token,
      public_key_pem: publicKeyPem,
      hostname: hostname(),
    },
    createNodeFetch({ ca }),
  );
  const device: DeviceRecord = {
    device_id: answer.device.id,
    name: answer.device.name,
    server_url: server,
    mqtt: {
      url: answer.mqtt?.url ?? null,
      topic_prefix: answer.mqtt?.topic_prefix ?? `bosun/v1/devices/${answer.device.id}/`,
    },
    activated_at: new Date().toISOString(),
  };
  // The bundle first: device.json is what marks the state dir activated.
  await storeCaBundle(opts.stateDir, ca);
  await saveDevice(opts.stateDir, device);
  return { outcome: 'activated', device };
}
