/**
 * Writes packages/agent/build-info.json (commit and build date) for a packaged agent, which has no
 * git checkout to ask at run time. Run when building an artifact: `npm run build-info -w @bosun/agent`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gitBuildInfo } from '../src/build-info.ts';

const dir = fileURLToPath(new URL('..', import.meta.url));
const git = gitBuildInfo(dir);
const info = { git_commit: git?.gitCommit ?? 'unknown', build_date: new Date().toISOString() };
writeFileSync(new URL('../build-info.json', import.meta.url), `${JSON.stringify(info, null, 2)}\n`);
console.log(JSON.stringify(info));
