import { X509Certificate } from 'node:crypto';
import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotFound, replaceFileAtomically } from './fsutil.ts';

/**
 * The fleet's CA bundle (docs/decisions.md #85): given at provisioning (`--ca-file` or
 * `BOSUN_CA_FILE`), kept in the state dir so `run` verifies the server and the broker against it
 * without being told again. When a bundle is in use it replaces Node's bundled public roots for the
 * agent's connections; verification itself is never turned off.
 */

export const caPath = (stateDir: string) => join(stateDir, 'identity', 'ca.pem');

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads a PEM bundle; an unreadable file or one without a parseable certificate is an error. */
export async function readCaBundle(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the CA file ${path}: ${(err as Error).message}`);
  }
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new Error(`the CA file ${path} holds no PEM certificate`);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new Error(`the CA file ${path}: certificate ${i + 1} is not valid: ${(err as Error).message}`);
    }
  }
  return `${blocks.join('\n')}\n`;
}

/** Keeps the bundle for `run`, or removes a stale one when this activation uses none. */
export async function storeCaBundle(stateDir: string, pem: string | undefined): Promise<void> {
  if (pem === undefined) await rm(caPath(stateDir), { force: true });
  else await replaceFileAtomically(caPath(stateDir), pem, { mode: 0o644 });
}

/** The bundle `run` uses: the one given now (flag or environment), else the one stored at provisioning. */
export async function loadCaBundle(stateDir: string, given: string | undefined): Promise<string | undefined> {
  if (given) return readCaBundle(given);
  try {
    await access(caPath(stateDir));
  } catch (err) {
    // None stored: the server's certificate must chain to one of Node's bundled roots.
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return readCaBundle(caPath(stateDir));
}

/** OpenSSL's verification failures: the peer's certificate is not trusted by the bundle in use. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** A hint for the operator when a TLS failure means "this CA bundle does not vouch for that peer". */
export function tlsHint(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (UNTRUSTED.has(code))
    return 'the certificate is not signed by a trusted CA: provision with --ca-file (or set BOSUN_CA_FILE) to the CA bundle that signed it';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return 'the certificate does not name this host: use the host name (or IP) the certificate was issued for';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return "the certificate is outside its validity period (check it and this device's clock)";
  return undefined;
}
