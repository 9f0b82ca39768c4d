/**
 * Recognises a unique-constraint violation from either engine and names the table and columns, so
 * the HTTP layer can answer 409 even when two requests race past the application's own check.
 * Index names follow `<table>_<col>[_<col>]_key` so PostgreSQL's constraint name maps back the same way.
 */
export function uniqueViolation(err: unknown): { table: string; columns: string[] } | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { code?: string; message?: string; constraint?: string; table?: string };
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const m = /UNIQUE constraint failed: (.+)$/.exec(e.message ?? '');
    if (!m) return { table: 'unknown', columns: [] };
    const pairs = m[1]!.split(',').map((s) => s.trim().split('.'));
    return { table: pairs[0]![0]!, columns: pairs.map((p) => p[1]!) };
  }
  if (e.code === '23505') {
    const table = e.table ?? 'unknown';
    const cols = (e.constraint ?? '').replace(`${table}_`, '').replace(/_key$/, '');
    return { table, columns: cols ? [cols] : [] };
  }
  return null;
}
