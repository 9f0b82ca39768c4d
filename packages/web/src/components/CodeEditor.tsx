import { json } from '@codemirror/lang-json';
import { type Diagnostic, linter, lintGutter } from '@codemirror/lint';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef } from 'react';
import type { Violation } from '../validate.ts';

/** Where a JSON Pointer's value starts in the text (best effort: the key's line), for lint markers. */
function offsetOf(text: string, pointer: string): number {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  let from = 0;
  for (const key of keys) {
    if (/^\d+$/.test(key)) continue;
    const at = text.indexOf(JSON.stringify(key), from);
    if (at < 0) break;
    from = at;
  }
  return from;
}

/** CodeMirror 6 (loaded with the editor chunk only), with the violations shown as lint markers. */
export function CodeEditor({
  value,
  label,
  onChange,
  check,
}: {
  value: string;
  label: string;
  onChange: (text: string) => void;
  check: (text: string) => Violation[];
}) {
  const host = useRef<HTMLDivElement>(null);
  const latest = useRef({ onChange, check });
  latest.current = { onChange, check };
  // The view owns the document after mounting; callbacks are read through `latest`.
  // biome-ignore lint/correctness/useExhaustiveDependencies: mounted once per file
  useEffect(() => {
    const view = new EditorView({
      doc: value,
      parent: host.current!,
      extensions: [
        basicSetup,
        json(),
        lintGutter(),
        linter(
          (v): Diagnostic[] => {
            const text = v.state.doc.toString();
            return latest.current.check(text).map((e) => {
              const from = Math.min(offsetOf(text, e.path), text.length);
              const line = v.state.doc.lineAt(from);
              return { from: line.from, to: line.to, severity: 'error', message: `${e.path}: ${e.message}` };
            });
          },
          { delay: 150 },
        ),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) latest.current.onChange(u.state.doc.toString());
        }),
        EditorView.contentAttributes.of({ 'aria-label': label }),
      ],
    });
    return () => view.destroy();
  }, []);
  return <div className="editor" ref={host} />;
}
