import { appendFileSync } from 'node:fs';

/**
 * Appends one JSON line of figures to BOSUN_RELIABILITY_FIGURES when it is set (the full-size
 * bench run reads them back for RELIABILITY.md); a no-op otherwise.
 */
export function recordFigures(name: string, figures: unknown): void {
  const file = process.env.BOSUN_RELIABILITY_FIGURES;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ name, at: new Date().toISOString(), figures })}\n`);
}
