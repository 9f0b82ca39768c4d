#!/usr/bin/env node
// Development entry: runs the TypeScript sources (tsx), like the bosun CLI. Robots run the bundle or
// the single executable built by `npm run build:agent` instead (no tsx, no node_modules).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
