import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';

/**
 * The regular-expression engine Ajv uses for every pattern taken from a user's schema (`pattern`,
 * `patternProperties`, `propertyNames.pattern`). RE2 semantics (re2js, pure JavaScript): matching is
 * linear in the input, so `^(a+)+$` cannot freeze the event loop. ECMAScript syntax is translated
 * (named groups, `\uXXXX`, `\/`); what RE2 cannot do in linear time (backreferences, lookaround) fails
 * to compile, which makes the schema a 422 invalid_schema (docs/decisions.md, "Hostile input").
 */
export const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    const re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    // Ajv caches compiled patterns under toString().
    return { test: (s: string) => re.test(s), toString: () => `/${pattern}/${flags}` };
  },
  { code: 'linearRegExp' },
);
