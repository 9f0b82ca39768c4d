import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorText } from '../api.ts';
import { Code } from '../components/Code.tsx';
import { ago } from '../components/Status.tsx';

/** Releases with their git commit (linked to the forge) and schemas (with source and instance counts). */
export function ReleasesPage() {
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<string | undefined>();
  const releases = useQuery({
    queryKey: ['releases', offset],
    queryFn: () =>
      api.releases.list({
        expand: ['config_schemas', 'total_count'],
        order_by: 'created_at:desc',
        limit: 25,
        offset,
      }),
  });
  if (releases.error) return <p role="alert">{errorText(releases.error)}</p>;
  return (
    <section aria-labelledby="releases-title">
      <h1 id="releases-title">Releases</h1>
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Commit</th>
            <th scope="col">Schemas</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {releases.data?.data.map((r) => (
            <tr key={r.id}>
              <td>
                <button
                  type="button"
                  className="link"
                  onClick={() => setOpen(open === r.id ? undefined : r.id)}
                >
                  {r.version}
                </button>
              </td>
              <td>{r.git_commit_id ? <Commit id={r.git_commit_id} /> : '—'}</td>
              <td>{r.config_schemas?.map((s) => s.config_type_name).join(', ')}</td>
              <td>{ago(r.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 25))}>
          Previous
        </button>
        <button type="button" disabled={!releases.data?.has_more} onClick={() => setOffset(offset + 25)}>
          Next
        </button>
      </nav>
      {open && <ReleaseSchemas releaseId={open} />}
    </section>
  );
}

function Commit({ id }: { id: string }) {
  const commit = useQuery({
    queryKey: ['git_commit', id],
    queryFn: () => api.gitCommits.get(id),
    staleTime: Infinity,
  });
  if (!commit.data) return <span>{id}</span>;
  return (
    <a href={commit.data.commit_url} rel="noreferrer noopener" target="_blank">
      {commit.data.sha.slice(0, 8)} {commit.data.message.split('\n')[0]}
    </a>
  );
}

function ReleaseSchemas({ releaseId }: { releaseId: string }) {
  const release = useQuery({
    queryKey: ['release', releaseId],
    queryFn: () => api.releases.get(releaseId, { expand: ['config_schemas.documents'] }),
  });
  return (
    <section aria-labelledby="schemas-title">
      <h2 id="schemas-title">Schemas of {release.data?.version}</h2>
      {release.data?.config_schemas?.map((s) => (
        <article key={s.id}>
          <h3>
            {s.config_type_name} → <code>{s.instance_filepath}</code> ({s.language},{' '}
            <InstanceCount schemaId={s.id} />)
          </h3>
          {s.documents?.map((d) => (
            <figure key={d.id}>
              <figcaption>{d.name}</figcaption>
              <Code text={d.data} label={`Schema document ${d.name}`} />
            </figure>
          ))}
        </article>
      ))}
    </section>
  );
}

function InstanceCount({ schemaId }: { schemaId: string }) {
  const count = useQuery({
    queryKey: ['instances', schemaId, 'count'],
    queryFn: () => api.configInstances.list({ config_schema_id: schemaId, expand: 'total_count', limit: 1 }),
  });
  return <>{count.data?.total_count ?? '…'} instances</>;
}
