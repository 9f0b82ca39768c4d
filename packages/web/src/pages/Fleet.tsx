import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useDeferredValue, useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText, type FleetPage as FleetList, type FleetSummary } from '../api.ts';
import { groupPaths, useGroups } from '../components/groups.ts';
import { ago, Status } from '../components/Status.tsx';
import { href } from '../router.ts';

const PAGE = 50;

/** Every device with presence, release and deployment status; searched, filtered and paged by the server. */
export function FleetPage() {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [deployment, setDeployment] = useState('');
  const [release, setRelease] = useState('');
  const [group, setGroup] = useState('');
  const [subgroups, setSubgroups] = useState(true);
  const [selector, setSelector] = useState('');
  const [offset, setOffset] = useState(0);
  const search = useDeferredValue(q);
  const tagSelector = useDeferredValue(selector.trim());
  const canGroups = useCan('groups:read');
  const groups = useGroups(canGroups);
  const groupName = groupPaths(groups.data ?? []);
  const query = {
    q: search || undefined,
    group_id: group ? [group] : undefined,
    include_subgroups: group && subgroups ? true : undefined,
    tag_selector: tagSelector || undefined,
    status: status || undefined,
    deployment_status: deployment || undefined,
    release_id: release || undefined,
    limit: PAGE,
    offset,
  };
  const summary = useQuery({
    queryKey: ['fleet', 'summary'],
    queryFn: () => api.http.request<FleetSummary>('GET', '/fleet/summary'),
  });
  const fleet = useQuery({
    queryKey: ['fleet', query],
    queryFn: () => api.http.request<FleetList>('GET', '/fleet', { query }),
    placeholderData: keepPreviousData,
  });
  const reset =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setOffset(0);
    };

  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      {summary.data && (
        <ul className="summary" aria-label="Fleet summary">
          <li>
            <strong>{summary.data.devices}</strong> devices
          </li>
          <li>
            <strong>{summary.data.presence.online ?? 0}</strong> online
          </li>
          <li>
            <strong>{summary.data.presence.offline ?? 0}</strong> offline
          </li>
          <li>
            <strong>{summary.data.staged}</strong> with staged
          </li>
          <li>
            <strong>{summary.data.failed}</strong> failed
          </li>
          {summary.data.releases.map((r) => (
            <li key={r.release_id ?? 'none'}>
              <strong>{r.devices}</strong> on {r.release_id ? (r.version ?? r.release_id) : 'no release'}
            </li>
          ))}
        </ul>
      )}
      <form className="filters" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            value={q}
            onChange={(e) => reset(setQ)(e.target.value)}
            placeholder="device name"
          />
        </label>
        <label>
          Presence
          <select value={status} onChange={(e) => reset(setStatus)(e.target.value)}>
            <option value="">any</option>
            {['online', 'offline', 'activating', 'inactive'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Deployment
          <select value={deployment} onChange={(e) => reset(setDeployment)(e.target.value)}>
            <option value="">any</option>
            {['deployed', 'queued', 'retrying', 'failed', 'drifted', 'none'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Release
          <select value={release} onChange={(e) => reset(setRelease)(e.target.value)}>
            <option value="">any</option>
            {summary.data?.releases
              .filter((r) => r.release_id)
              .map((r) => (
                <option key={r.release_id} value={r.release_id ?? ''}>
                  {r.version ?? r.release_id}
                </option>
              ))}
          </select>
        </label>
        {canGroups && (
          <label>
            Group
            <select value={group} onChange={(e) => reset(setGroup)(e.target.value)}>
              <option value="">any</option>
              {(groups.data ?? []).map((g) => (
                <option key={g.id} value={g.id}>
                  {groupName.get(g.id)}
                </option>
              ))}
            </select>
          </label>
        )}
        {canGroups && group && (
          <label className="check">
            <input
              type="checkbox"
              checked={subgroups}
              onChange={(e) => reset(setSubgroups)(e.target.checked)}
            />
            with subgroups
          </label>
        )}
        <label>
          Tags
          <input
            type="search"
            value={selector}
            onChange={(e) => reset(setSelector)(e.target.value)}
            placeholder="env=prod,site in (berlin|munich)"
            aria-describedby="tag-help"
          />
        </label>
        <span id="tag-help" className="visually-hidden">
          A tag selector: key=value, key!=value, key in (a|b), key (has it), !key (has not); comma means and.
        </span>
      </form>
      {fleet.error && <p role="alert">{errorText(fleet.error)}</p>}
      <table className="grid">
        <caption className="visually-hidden">Devices</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Presence</th>
            <th scope="col">Group</th>
            <th scope="col">Tags</th>
            <th scope="col">Last connected</th>
            <th scope="col">Release</th>
            <th scope="col">Deployment</th>
            <th scope="col">Staged</th>
            <th scope="col">Agent</th>
          </tr>
        </thead>
        <tbody>
          {fleet.data?.data.map((row) => (
            <tr key={row.device.id} data-device={row.device.name}>
              <td>
                <a href={href('devices', row.device.id)}>{row.device.name}</a>
              </td>
              <td>
                <Status value={row.device.status} />
              </td>
              <td>{row.group_id ? (groupName.get(row.group_id) ?? row.group_id) : '—'}</td>
              <td className="tags">
                {Object.entries(row.tags).map(([k, v]) => (
                  <span key={k} className="tag">
                    {k}={v}
                  </span>
                ))}
              </td>
              <td>{ago(row.device.last_connected_at)}</td>
              <td>
                {row.current_deployment
                  ? (row.current_deployment.release_version ?? row.current_deployment.release_id)
                  : '—'}
              </td>
              <td>
                <Status value={row.current_deployment?.status} />
              </td>
              <td>{row.staged_deployments || ''}</td>
              <td>{row.device.agent_version ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {fleet.data && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <span>
            {fleet.data.total_count === 0
              ? 'No devices'
              : `${offset + 1}–${offset + fleet.data.data.length} of ${fleet.data.total_count}`}
          </span>
          <button type="button" disabled={!fleet.data.has_more} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
