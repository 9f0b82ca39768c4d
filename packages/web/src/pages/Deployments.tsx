import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, type Deployment, errorText } from '../api.ts';
import { ago, Status } from '../components/Status.tsx';
import { href } from '../router.ts';

type Target = 'staged' | 'deployed' | 'archived';

/** Deployments across the fleet, filtered by target; bulk deploy or archive of staged ones. */
export function DeploymentsPage() {
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<Target | ''>('staged');
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [report, setReport] = useState('');
  const canDeploy = useCan('deployments:deploy');
  const canArchive = useCan('deployments:archive');
  const list = useQuery({
    queryKey: ['deployments', { target, offset }],
    queryFn: () =>
      api.deployments.list({
        target_status: target || undefined,
        expand: ['device', 'release', 'total_count'],
        order_by: 'created_at:desc',
        limit: 50,
        offset,
      }),
  });
  const bulk = useMutation({
    mutationFn: async (action: 'deploy' | 'archive') => {
      const results = await Promise.allSettled([...selected].map((id) => api.deployments[action](id)));
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      return `${action}: ${results.length - failed.length} done${failed.length ? `, ${failed.length} refused (${errorText(failed[0]!.reason)})` : ''}`;
    },
    onSuccess: (text) => {
      setReport(text);
      setSelected(new Set());
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['deployments'] }),
  });
  const rows = (list.data?.data ?? []) as Deployment[];
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  return (
    <section aria-labelledby="deployments-title">
      <h1 id="deployments-title">Deployments</h1>
      <div className="filters">
        <label>
          Target
          <select
            value={target}
            onChange={(e) => {
              setTarget(e.target.value as Target | '');
              setOffset(0);
              setSelected(new Set());
            }}
          >
            <option value="">any</option>
            <option>staged</option>
            <option>deployed</option>
            <option>archived</option>
          </select>
        </label>
        {canDeploy && (
          <button type="button" disabled={!selected.size} onClick={() => bulk.mutate('deploy')}>
            Deploy selected
          </button>
        )}
        {canArchive && (
          <button type="button" disabled={!selected.size} onClick={() => bulk.mutate('archive')}>
            Archive selected
          </button>
        )}
      </div>
      {report && <p role="status">{report}</p>}
      {list.error && <p role="alert">{errorText(list.error)}</p>}
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Select</span>
            </th>
            <th scope="col">Device</th>
            <th scope="col">Release</th>
            <th scope="col">Description</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${d.id}`}
                  checked={selected.has(d.id)}
                  onChange={() => toggle(d.id)}
                />
              </td>
              <td>
                <a href={href('devices', d.device_id)}>{d.device?.name ?? d.device_id}</a>
              </td>
              <td>{d.release?.version ?? d.release_id}</td>
              <td>{d.description}</td>
              <td>
                <Status value={d.status} />
              </td>
              <td>{ago(d.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 50))}>
          Previous
        </button>
        <span>{list.data?.total_count ?? 0} deployments</span>
        <button type="button" disabled={!list.data?.has_more} onClick={() => setOffset(offset + 50)}>
          Next
        </button>
      </nav>
    </section>
  );
}
