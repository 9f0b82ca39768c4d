import { randomFillSync } from 'node:crypto';

/** Id prefixes of the tetons reference (docs/decisions.md #39). */
export const ID_PREFIX = {
  apiKey: 'api_key_',
  configType: 'cfg_typ_',
  configSchema: 'cfg_sch_',
  schemaDocument: 'doc_',
  configInstance: 'cfg_inst_',
  release: 'rls_',
  deployment: 'dpl_',
  device: 'dvc_',
  gitCommit: 'git_cmt_',
  event: 'evt_',
  webhookEndpoint: 'ep_',
  webhookDelivery: 'whd_',
  webhookAttempt: 'atmpt_',
  group: 'grp_',
  rollout: 'rlt_',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * CSPRNG bytes drawn 4 KiB at a time, each byte used once: one `randomBytes` call per id was 3 % of
 * the server's CPU under a create load (docs/decisions.md #93). Same generator, same bytes.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

/** Base62 from a CSPRNG, rejection-sampled so every character is equally likely (no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

/** 22 base62 characters carry ~131 bits: unguessable, and short enough to read in a log line. */
export function newId(kind: IdKind): string {
  return ID_PREFIX[kind] + randomBase62(22);
}
