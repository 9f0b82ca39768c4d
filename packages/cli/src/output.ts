/** Prints rows as an aligned plain-text table (the default human output of every command). */
export function printTable(
  headers: string[],
  rows: string[][],
  out: NodeJS.WritableStream = process.stdout,
): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  out.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

/** The `--json` output of every command: the API's own objects, pretty-printed. */
export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One object as aligned `label  value` lines (the human output of `get` commands). */
export function printFields(
  fields: [label: string, value: unknown][],
  out: NodeJS.WritableStream = process.stdout,
): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  out.write(
    `${fields.map(([label, value]) => `${label.padEnd(width)}  ${cell(value)}`.trimEnd()).join('\n')}\n`,
  );
}

/** How a value shows in a table cell: nothing for null/undefined, lists comma-joined. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
