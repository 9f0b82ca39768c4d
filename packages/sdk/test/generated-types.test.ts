import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILE, generateOpenApiTypes } from '../scripts/openapi-types.ts';

describe('generated OpenAPI types', () => {
  it('are up to date with the server document (run `npm run sdk:generate` when this fails)', async () => {
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    const fresh = await generateOpenApiTypes();
    expect(committed === fresh, 'packages/sdk/src/generated/openapi.ts is stale: npm run sdk:generate').toBe(
      true,
    );
  });

  it('cover every operation of the server document', async () => {
    const text = readFileSync(GENERATED_FILE, 'utf8');
    for (const op of [
      'getSelf',
      'createDevice',
      'listDeployments',
      'getConfigInstanceContent',
      'createRelease',
      'createGitCommit',
    ]) {
      expect(text).toContain(`${op}: {`);
    }
  });
});
