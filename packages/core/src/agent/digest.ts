/** Content digests in the protocol's `sha256:<lowercase hex>` form. */

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isContentDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function formatSha256(hex: string): string {
  return `sha256:${hex.toLowerCase()}`;
}
