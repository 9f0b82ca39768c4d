/**
 * KNOWN-OPEN DEFECTS — a temporary, narrow list. Each entry names one defect of issue 11 that is
 * fixed on another branch and not merged here yet. Remove the entry when the fix is merged: the
 * fuzzer then fails on it again if the fix does not hold. Nothing else may be added here to make a
 * run green; a new failure is a new defect to fix.
 *
 * Two kinds of entries:
 * - `generator`: a hostile generator is switched off, because the defect takes the whole server
 *   down (crash or a frozen event loop) and would hide every later finding of the run;
 * - `signature`: a failing response that matches is counted as "known open" instead of failing
 *   the run (it is still printed).
 */
import type { FuzzFinding } from './fuzz.ts';

export interface KnownOpen {
  id: string;
  /** Issue 11 item. */
  defect: number;
  what: string;
  generator?: string;
  signature?: (f: FuzzFinding) => boolean;
}

const hasNul = (f: FuzzFinding) => /\0|%00|\\u0000/i.test(`${f.request.path}${f.request.body ?? ''}`);

export const KNOWN_OPEN: KnownOpen[] = [
  {
    id: 'deep-yaml-oom',
    defect: 1,
    what: 'a deeply nested YAML schema document exhausts memory and kills the process',
    generator: 'deep-yaml-document',
    // Deep `[[[…]]]` documents sent as YAML by other generators reach it too.
    signature: (f) => f.kind === 'crash' && /RegExpCompiler|process out of memory/.test(f.detail),
  },
  {
    id: 'redos-pattern',
    defect: 2,
    what: 'a catastrophic JSON Schema pattern blocks the event loop',
    generator: 'redos-pattern',
  },
  {
    id: 'cue-starvation',
    defect: 3,
    what: 'a huge CUE comprehension holds the only CUE worker until its timeout',
    generator: 'cue-huge-comprehension',
  },
  {
    id: 'cue-deep-instance',
    defect: 3,
    what: 'an instance nested ~5,000+ deep holds the only CUE worker for seconds (no nesting limit before parsing, no per-job budget); requests queued behind it hang',
    generator: 'deep-instance-document',
  },
  {
    id: 'postgres-nul',
    defect: 4,
    what: 'PostgreSQL refuses NUL in text: 500',
    signature: (f) => f.kind === '5xx' && f.engine === 'postgres' && hasNul(f),
  },
  {
    id: 'expand-prototype-names',
    defect: 5,
    what: 'expand with prototype names (constructor, __proto__, toString, …) answers 500',
    signature: (f) =>
      f.kind === '5xx' &&
      /[?&]expand(\[\]|%5B%5D)?=[^&]*(constructor|__proto__|prototype|toString|valueOf|hasOwnProperty|isPrototypeOf|propertyIsEnumerable|toLocaleString|__define|__lookup)/i.test(
        decodeSafe(f.request.path),
      ),
  },
  {
    id: 'deep-json-digest',
    defect: 6,
    what: 'a deeply nested schema document overflows the stack of the canonical-JSON digest: 500',
    signature: (f) =>
      f.kind === '5xx' &&
      f.request.path.startsWith('/beta/config_schemas') &&
      // The document travels as a JSON string inside the body: `{\"items\":` repeated, or `[` repeated.
      /(\{\\"items\\":){100}|\[{100}/.test(f.request.body ?? ''),
  },
];

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Generators switched off by a known-open entry (BOSUN_FUZZ_ALL_GENERATORS=1 turns them all on). */
export function disabledGenerators(): Set<string> {
  if (process.env.BOSUN_FUZZ_ALL_GENERATORS === '1') return new Set();
  return new Set(KNOWN_OPEN.flatMap((k) => (k.generator ? [k.generator] : [])));
}

export function knownOpenFor(f: FuzzFinding): KnownOpen | undefined {
  return KNOWN_OPEN.find((k) => k.signature?.(f));
}
