/**
 * Read-only highlighted JSON (a small tokenizer, so viewing files never loads the editor bundle).
 * Text that is not JSON is shown plain.
 */
const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

export function Code({ text, label }: { text: string; label: string }) {
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {}
  const parts: React.ReactNode[] = [];
  let last = 0;
  for (const m of pretty.matchAll(TOKEN)) {
    if (m.index > last) parts.push(pretty.slice(last, m.index));
    const cls = m[1] ? (m[2] ? 'tok-key' : 'tok-str') : m[3] ? 'tok-lit' : 'tok-num';
    parts.push(
      <span key={m.index} className={cls}>
        {m[1] ?? m[0]}
      </span>,
    );
    if (m[2]) parts.push(m[2]);
    last = m.index + m[0].length;
  }
  parts.push(pretty.slice(last));
  return (
    // A scrollable block must be reachable by keyboard (axe scrollable-region-focusable).
    <section className="code-block" aria-label={label}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable content needs keyboard focus */}
      <pre className="code" tabIndex={0}>
        <code>{parts}</code>
      </pre>
    </section>
  );
}
