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
