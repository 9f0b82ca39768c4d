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

/**
 * Every issue-11 defect is fixed on main (docs/decisions.md #46): the list is empty, so each of
 * them fails the run again if its fix stops holding.
 */
export const KNOWN_OPEN: KnownOpen[] = [];

/** Generators switched off by a known-open entry (BOSUN_FUZZ_ALL_GENERATORS=1 turns them all on). */
export function disabledGenerators(): Set<string> {
  if (process.env.BOSUN_FUZZ_ALL_GENERATORS === '1') return new Set();
  return new Set(KNOWN_OPEN.flatMap((k) => (k.generator ? [k.generator] : [])));
}

export function knownOpenFor(f: FuzzFinding): KnownOpen | undefined {
  return KNOWN_OPEN.find((k) => k.signature?.(f));
}
