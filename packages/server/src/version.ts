import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_DIR } from './paths.ts';

/** The server's own version, from its package.json. */
export const BOSUN_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'));
    return `v${pkg.version}`;
  } catch {
    return 'v0.0.0';
  }
})();
