import {
  type CanonicalDocument,
  canonicalCue,
  canonicalJson,
  SCHEMA_FORMATS,
  type SchemaFormat,
  type SchemaLanguage,
  schemaDigest,
  unprocessable,
} from '@bosun/core';
import { compileCue, cuePool } from './cue.ts';
import { compileJsonSchema, parseSchemaDocument } from './json-schema.ts';
import type { InstanceValidator, SchemaDocumentInput } from './types.ts';

export type { InstanceValidator, SchemaDocumentInput, ValidationIssue } from './types.ts';

export interface SchemaSource {
  language: SchemaLanguage;
  format: SchemaFormat;
  documents: SchemaDocumentInput[];
}

/** Checks the language/format pair and the number of documents (JSON Schema is one file). */
export function checkSchemaShape(src: SchemaSource) {
  if (!SCHEMA_FORMATS[src.language].includes(src.format)) {
    throw unprocessable(
      'invalid_format',
      `A ${src.language} schema must be written in ${SCHEMA_FORMATS[src.language].join(' or ')}, not ${src.format}.`,
      { field: 'format', value: src.format, allowed: SCHEMA_FORMATS[src.language] },
    );
  }
  if (src.documents.length === 0) {
    throw unprocessable('invalid_documents', 'A schema needs at least one document.', { field: 'documents' });
  }
  if (src.language === 'jsonschema' && src.documents.length !== 1) {
    throw unprocessable(
      'invalid_documents',
      `A JSON Schema is exactly one document, got ${src.documents.length}.`,
      {
        field: 'documents',
      },
    );
  }
  const seen = new Set<string>();
  for (const d of src.documents) {
    if (d.name.length === 0 || d.name.length > 255 || d.name.includes('/') || d.name.includes('\\')) {
      throw unprocessable(
        'invalid_document_name',
        `Document name '${d.name}' must be a file name of 1 to 255 characters.`,
        {
          field: 'documents',
          document: d.name,
        },
      );
    }
    if (seen.has(d.name)) {
      throw unprocessable('invalid_documents', `Two documents are named '${d.name}'.`, {
        field: 'documents',
        document: d.name,
      });
    }
    seen.add(d.name);
  }
}

/** Canonical forms of the documents (for the digest); parsing errors are 422s. */
export function canonicalDocuments(src: SchemaSource): CanonicalDocument[] {
  return src.documents.map((d) => ({
    name: d.name,
    canonical:
      src.language === 'cue'
        ? canonicalCue(d.data)
        : canonicalJson(parseSchemaDocument(src.format as 'json' | 'yaml', d.name, d.data)),
  }));
}

export function digestOf(src: SchemaSource): string {
  return schemaDigest(src.language, canonicalDocuments(src));
}

/** Compiles a schema into a validator; a schema that does not compile is a 422 with the compiler's message. */
export async function compileSchema(src: SchemaSource): Promise<InstanceValidator> {
  checkSchemaShape(src);
  if (src.language === 'cue') return compileCue(src.documents);
  const doc = src.documents[0]!;
  return compileJsonSchema(parseSchemaDocument(src.format as 'json' | 'yaml', doc.name, doc.data));
}

/**
 * Compiled validators by schema id. Schemas are immutable, so an entry never goes stale; the cache
 * is bounded (least recently used goes first) so a server with thousands of schemas keeps its memory.
 * Concurrent first uses of one schema share one compilation.
 */
export class ValidatorCache {
  private readonly entries = new Map<string, Promise<InstanceValidator>>();
  compilations = 0;

  constructor(private readonly capacity = 512) {}

  get(schemaId: string, load: () => Promise<SchemaSource>): Promise<InstanceValidator> {
    const hit = this.entries.get(schemaId);
    if (hit) {
      this.entries.delete(schemaId);
      this.entries.set(schemaId, hit);
      return hit;
    }
    const compiled = (async () => {
      this.compilations++;
      return compileSchema(await load());
    })();
    compiled.catch(() => this.entries.delete(schemaId));
    this.entries.set(schemaId, compiled);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return compiled;
  }

  /** Seeds the cache with a validator compiled while the schema was created. */
  set(schemaId: string, validator: InstanceValidator) {
    this.entries.set(schemaId, Promise.resolve(validator));
  }
}

/** The process-wide cache: schema ids are unique, so every app in the process can share it. */
export const validatorCache = new ValidatorCache();

/** How many CUE workers run at once (for benchmarks and capacity planning). */
export function cuePoolSize(): number {
  return cuePool().size;
}
