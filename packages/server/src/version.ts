import { readFileSync } from 'node:fs';

/** The server's own version, from its package.json (one level above both src/ and dist/). */
export const BOSUN_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return `v${pkg.version}`;
  } catch {
    return 'v0.0.0';
  }
})();
