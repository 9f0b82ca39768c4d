import { unprocessable } from '@bosun/core';
import { checkDocumentText, checkDocumentValue } from '../http/limits.ts';
import type { ConfigSchemaRow } from '../storage/config-schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { validatorCache } from './index.ts';
import type { ValidationIssue } from './types.ts';

/**
 * Checks instance content against its schema: input limits and JSON syntax (which throw, as for any
 * request), then the schema (whose violations are returned). Creating an instance and the
 * validate-only endpoint of the dashboard both go through here, so they can never disagree.
 */
export async function checkInstanceContent(
  repos: Repositories,
  schema: ConfigSchemaRow,
  data: string,
): Promise<ValidationIssue[]> {
  checkDocumentText('json', data, 'content.data', 'content');
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw unprocessable('invalid_content', `content.data is not valid JSON: ${(err as Error).message}`, {
      field: 'content.data',
    });
  }
  checkDocumentValue(value, 'content.data', 'content');
  const validator = await validatorCache.get(schema.id, async () => ({
    language: schema.language,
    format: schema.format,
    documents: (await repos.configSchemas.documents([schema.id])).get(schema.id) ?? [],
  }));
  return validator.validate(value, data);
}
