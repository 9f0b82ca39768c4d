/** A status word with its colour class; the text itself carries the meaning (not colour alone). */
export function Status({ value }: { value: string | null | undefined }) {
  const v = value ?? 'none';
  return <span className={`status status-${v}`}>{v}</span>;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}
