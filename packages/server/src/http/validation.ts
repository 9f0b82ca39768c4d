import { Ajv, type Options, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { addFormats } from './ajv-formats.ts';

/**
 * Two validators: query strings, path params and headers arrive as text, so they are coerced
 * (`limit=5` is the integer 5, a single value becomes a one-item array); JSON bodies are not, so a
 * number where a string belongs is a 400 that names the field instead of silently becoming "5".
 */
function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    strict: false,
    allErrors: false,
    useDefaults: true,
    removeAdditional: true,
    ...options,
  });
  addFormats(ajv);
  return ajv;
}

const textParts = makeAjv({ coerceTypes: 'array' });
const bodies = makeAjv({ coerceTypes: false });

/**
 * Compiling every route's schemas is most of the server's start-up time, so each validator compiles
 * on the first request that needs it (every route runs in the test suites, where a bad schema still
 * fails). Fastify reads `.errors` off the function it was given, so the wrapper carries them over.
 */
function lazily(compile: () => ValidateFunction): ValidateFunction {
  let fn: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    fn ??= compile();
    const ok = fn(data);
    validate.errors = fn.errors;
    return ok;
  }) as ValidateFunction;
  validate.errors = null;
  return validate;
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  lazily(() => (httpPart === 'body' ? bodies : textParts).compile(schema));
