import { fileURLToPath } from 'node:url';

/**
 * The server package's own directory. This module sits one level below it in src/ and dist/ alike,
 * and the start-up bundle (`dist/server.bundle.mjs`) sits at the same depth, so every file the
 * server reads at run time is found from here, whichever of the three is running.
 */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
