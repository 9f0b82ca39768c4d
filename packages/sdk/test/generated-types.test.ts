import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILE, generateOpenApiTypes, serverOpenApiDocument } from '../scripts/openapi-types.ts';

describe('generated OpenAPI types', () => {
  it('are up to date with the server document (run `npm run sdk:generate` when this fails)', async () => {
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    const fresh = await generateOpenApiTypes();
    expect(committed === fresh, 'packages/sdk/src/generated/openapi.ts is stale: npm run sdk:generate').toBe(
      true,
    );
  });

  it('cover every operation of the server document', async () => {
    const doc = (await serverOpenApiDocument()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const operationIds = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).flatMap((op) => (op?.operationId ? [op.operationId] : [])),
    );
    expect(operationIds.length).toBeGreaterThan(30);
    const text = readFileSync(GENERATED_FILE, 'utf8');
    // Each operation is a member of the generated `operations` interface (4-space indent).
    const operations = text.slice(text.indexOf('export interface operations {'));
    const missing = operationIds.filter((id) => !operations.includes(`\n    ${id}: {`));
    expect(missing, 'operations of the server document absent from the generated types').toEqual([]);
  });
});
