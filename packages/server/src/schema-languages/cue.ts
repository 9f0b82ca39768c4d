import { createHash } from 'node:crypto';
import { BosunError, unprocessable } from '@bosun/core';
import { cueIssues } from './cue-errors.ts';
import { CueBusyError, CuePool, CueTimeoutError } from './cue-pool.ts';
import type { InstanceValidator, SchemaDocumentInput } from './types.ts';

const INSTANCE_FILE = 'bosun-instance.cue';
const DOCUMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.cue$/;
const PACKAGE = /^package\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/m;

let pool: CuePool | undefined;
/** The process-wide CUE worker pool, started on first use. */
export function cuePool(): CuePool {
  pool ??= new CuePool();
  return pool;
}

/** The package every document declares; documents of different packages (or some without one) are a 422. */
export function cuePackage(documents: SchemaDocumentInput[]): string | null {
  const names = documents.map((d) => PACKAGE.exec(stripComments(d.data))?.[1] ?? null);
  const distinct = [...new Set(names)];
  if (distinct.length > 1) {
    throw unprocessable(
      'invalid_schema',
      `CUE documents must all belong to one package; found ${distinct.map((n) => n ?? '(no package clause)').join(', ')}.`,
      {
        field: 'documents',
        packages: Object.fromEntries(documents.map((d, i) => [d.name, names[i]])),
      },
    );
  }
  return distinct[0] ?? null;
}

function stripComments(source: string): string {
  return source.replace(/^\s*\/\/.*$/gm, '');
}

export function checkCueDocumentNames(documents: SchemaDocumentInput[]) {
  for (const d of documents) {
    if (!DOCUMENT_NAME.test(d.name)) {
      throw unprocessable(
        'invalid_document_name',
        `CUE document name '${d.name}' must be a file name ending in .cue (letters, digits, '.', '_', '-').`,
        { field: 'documents', document: d.name },
      );
    }
  }
  if (documents.some((d) => d.name === INSTANCE_FILE)) {
    throw unprocessable('invalid_document_name', `'${INSTANCE_FILE}' is reserved.`, { field: 'documents' });
  }
}

async function runCue(job: Parameters<CuePool['run']>[0]) {
  try {
    return await cuePool().run(job);
  } catch (err) {
    if (err instanceof CueTimeoutError) {
      throw unprocessable(
        'schema_too_expensive',
        `CUE needed more than its budget of ${err.budgetMs} ms to ${job.op === 'check' ? 'evaluate the schema' : 'validate the instance against the schema'}; simplify the schema (large comprehensions, ranges or recursion).`,
        { field: job.op === 'check' ? 'documents' : 'content.data', budget_ms: err.budgetMs },
      );
    }
    if (err instanceof CueBusyError) {
      throw new BosunError(503, 'schema_engine_busy', 'Too many CUE jobs are waiting; retry shortly.', {
        queue_limit: err.queueLimit,
      });
    }
    throw unprocessable('cue_failed', `CUE could not evaluate the schema: ${(err as Error).message}`, {
      field: 'documents',
    });
  }
}

/**
 * Compiles a CUE package (evaluates it without requiring concrete values) and returns a validator
 * that unifies an instance with it in the worker pool. A failing instance is vetted as CUE source of
 * the schema's package (JSON is CUE) with `vet -c`, so missing required values count and every failing
 * field is reported, where vetting a .json data file stops at the first.
 */
export async function compileCue(documents: SchemaDocumentInput[]): Promise<InstanceValidator> {
  checkCueDocumentNames(documents);
  // Raw bytes, not the digest: error positions must point into the files as written.
  const key = createHash('sha256')
    .update(JSON.stringify(documents.map((d) => [d.name, d.data])))
    .digest('hex');
  const pkg = cuePackage(documents);
  const files = documents.map((d) => ({ name: d.name, data: d.data }));
  const checked = await runCue({ op: 'check', key, files });
  if (checked.code !== 0) {
    const message = checked.stderr.trim() || `cue exited with code ${checked.code}`;
    throw unprocessable('invalid_schema', `The CUE schema does not compile: ${message}`, {
      field: 'documents',
      compiler_message: message,
    });
  }
  return {
    async validate(_value, text) {
      const r = await runCue({ op: 'vet', key, files, pkg, instanceName: INSTANCE_FILE, instance: text });
      if (r.code === 0) return [];
      const issues = cueIssues(r.stderr, INSTANCE_FILE);
      return issues.length
        ? issues
        : [
            {
              path: '',
              message: r.stderr.trim() || 'CUE rejected the instance',
              rule: 'cue',
              schema_location: '',
            },
          ];
    },
  };
}
