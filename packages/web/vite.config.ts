import { defineConfig } from 'vite';

/**
 * The dashboard build: one HTML page and hashed assets in dist/, served by the server at `/`. The
 * SDK is bundled from its TypeScript sources (`source` condition); CodeMirror is a separate chunk
 * loaded when the editor opens, so the initial JS stays small.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      // React Query's "use client" markers mean nothing without server components.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
