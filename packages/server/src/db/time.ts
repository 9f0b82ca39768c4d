let last = 0;

/**
 * The one clock of the storage layer: ISO 8601 UTC with milliseconds, sortable as text. Strictly
 * increasing within a process, so rows created in the same millisecond still list in creation order.
 */
export function nowIso(): string {
  const now = Math.max(Date.now(), last + 1);
  last = now;
  return new Date(now).toISOString();
}

/** Normalises a timestamp read from either engine to RFC 3339 UTC. */
export function toIso(value: string | Date): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
