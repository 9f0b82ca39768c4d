import { jsonDiff, lineDiff, tryJson } from '../diff.ts';

export interface DiffFile {
  path: string;
  before: string | undefined;
  after: string | undefined;
}

const show = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));

/** Per file: a semantic diff by JSON path for JSON, a line diff otherwise. */
export function Diff({ files }: { files: DiffFile[] }) {
  return (
    <div className="diff">
      {files.map((f) => {
        const a = f.before === undefined ? undefined : tryJson(f.before);
        const b = f.after === undefined ? undefined : tryJson(f.after);
        if ((f.before === undefined || a) && (f.after === undefined || b)) {
          const changes = jsonDiff(a?.value, b?.value);
          return (
            <section key={f.path} aria-label={`Changes in ${f.path}`}>
              <h4>{f.path}</h4>
              {changes.length === 0 ? (
                <p className="muted">No change.</p>
              ) : (
                <table className="grid diff-table">
                  <thead>
                    <tr>
                      <th scope="col">Path</th>
                      <th scope="col">Change</th>
                      <th scope="col">Before</th>
                      <th scope="col">After</th>
                    </tr>
                  </thead>
                  <tbody>
                    {changes.map((c) => (
                      <tr key={c.path} className={`diff-${c.kind}`} data-path={c.path}>
                        <td>
                          <code>{c.path}</code>
                        </td>
                        <td>{c.kind}</td>
                        <td>
                          <code>{show(c.before)}</code>
                        </td>
                        <td>
                          <code>{show(c.after)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          );
        }
        return (
          <section key={f.path} aria-label={`Changes in ${f.path}`}>
            <h4>{f.path}</h4>
            <pre className="code">
              {lineDiff(f.before ?? '', f.after ?? '').map((l, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional and never reordered
                <div key={i} className={`line-${l.kind}`}>
                  {l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '- ' : '  '}
                  {l.text}
                </div>
              ))}
            </pre>
          </section>
        );
      })}
    </div>
  );
}

/** The files of a deployment (expanded with config_instances.content), by path. */
export function filesOf(
  d: { config_instances?: { filepath: string; content?: { data: string } }[] } | undefined,
) {
  const out = new Map<string, string>();
  for (const i of d?.config_instances ?? []) out.set(i.filepath, i.content?.data ?? '');
  return out;
}

export function diffFiles(before: Map<string, string>, after: Map<string, string>): DiffFile[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  return paths.map((path) => ({ path, before: before.get(path), after: after.get(path) }));
}
