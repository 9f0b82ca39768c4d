import { fileURLToPath } from 'node:url';

/** The built dashboard (`vite build`), which the server serves at `/`. */
export const webDir = fileURLToPath(new URL('./dist', import.meta.url));
