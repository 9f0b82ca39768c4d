#!/usr/bin/env node
// Runs the compiled agent command (`npm run build`). Robots run the bundle or the single executable
// built by `npm run build:agent` instead (no node_modules).
const { main } = await import('../dist/cli/main.js');
await main(process.argv);
