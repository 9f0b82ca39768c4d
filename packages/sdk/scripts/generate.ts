// `npm run sdk:generate`: rewrites packages/sdk/src/generated/openapi.ts from the server's routes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GENERATED_FILE, generateOpenApiTypes } from './openapi-types.ts';

writeFileSync(GENERATED_FILE, await generateOpenApiTypes());
process.stdout.write(`wrote ${fileURLToPath(GENERATED_FILE)}\n`);
