import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { useCan } from '../App.tsx';
import { api, type Deployment, errorText } from '../api.ts';
import { Code } from '../components/Code.tsx';
import { DeviceTags } from '../components/DeviceTags.tsx';
import { Diff, diffFiles, filesOf } from '../components/Diff.tsx';
import { ago, Status } from '../components/Status.tsx';

const Editor = lazy(() => import('./Editor.tsx'));

const EXPAND = ['release', 'config_instances.content'];

/** One robot: its files, its deployments and their timeline, staged work, ping, activation, editing. */
export function DevicePage({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const device = useQuery({ queryKey: ['device', id], queryFn: () => api.devices.get(id) });
  const deployments = useQuery({
    queryKey: ['deployments', { device: id }],
    queryFn: () =>
      api.deployments.list({ device_id: id, expand: EXPAND, order_by: 'created_at:desc', limit: 50 }),
  });
  const [editing, setEditing] = useState(false);
  const [message, setMessage] = useState('');
  const canDeploy = useCan('deployments:deploy');
  const canStage = useCan('deployments:stage');
  const canArchive = useCan('deployments:archive');
  const canEdit = useCan('config_instances:write') && (canDeploy || canStage);
  const canProvision = useCan('devices:provision');

  const all = (deployments.data?.data ?? []) as Deployment[];
  const current = all.find((d) => d.target_status === 'deployed');
  const staged = all.filter(
    (d) => d.target_status === 'staged' && ['staged', 'drifted'].includes(d.activity_status),
  );
  const [timelineOf, setTimelineOf] = useState<string | undefined>();
  const timelineId = timelineOf ?? current?.id ?? all[0]?.id;

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['deployments'] });
    void queryClient.invalidateQueries({ queryKey: ['fleet'] });
  };
  const act = useMutation({
    mutationFn: async ({
      action,
      deployment,
    }: {
      action: 'deploy' | 'archive' | 'restage';
      deployment: string;
    }) => api.deployments[action](deployment),
    onSuccess: (d, v) => setMessage(`${v.action}: ${d.id} is now ${d.status}`),
    onError: (err) => setMessage(errorText(err)),
    onSettled: refresh,
  });
  const ping = useMutation({
    mutationFn: () => api.devices.ping(id, { timeout_nanos: 5_000_000_000 }),
    onSuccess: (r) =>
      setMessage(
        r.code === 'success'
          ? `Pong in ${((r.round_trip_nanos ?? 0) / 1e6).toFixed(1)} ms`
          : 'No answer (timeout)',
      ),
    onError: (err) => setMessage(errorText(err)),
  });
  const activation = useMutation({
    mutationFn: () => api.devices.createActivationToken(id),
    onError: (err) => setMessage(errorText(err)),
  });

  if (device.error) return <p role="alert">{errorText(device.error)}</p>;
  if (!device.data) return <p className="loading">Loading…</p>;
  const d = device.data;
  return (
    <section aria-labelledby="device-title">
      <h1 id="device-title">{d.name}</h1>
      <dl className="facts">
        <dt>Presence</dt>
        <dd>
          <Status value={d.status} />
        </dd>
        <dt>Last connected</dt>
        <dd>{ago(d.last_connected_at)}</dd>
        <dt>Agent</dt>
        <dd>{d.agent_version ?? '—'}</dd>
        <dt>Release</dt>
        <dd>{current?.release?.version ?? '—'}</dd>
        <dt>Deployment</dt>
        <dd data-testid="current-status">
          <Status value={current?.status} />
        </dd>
      </dl>
      <DeviceTags id={id} />
      <div className="actions">
        <button type="button" onClick={() => ping.mutate()} disabled={ping.isPending}>
          Ping
        </button>
        {canEdit && current && (
          <button type="button" onClick={() => setEditing(true)}>
            Edit config
          </button>
        )}
        {canProvision && d.status === 'inactive' && (
          <button type="button" onClick={() => activation.mutate()}>
            Activation command
          </button>
        )}
      </div>
      {message && (
        <p role="status" className="message">
          {message}
        </p>
      )}
      {activation.data && (
        <div className="activation">
          <p>Run on the robot (the token is shown once):</p>
          <Code
            label="Install command"
            text={`curl -fsSL ${window.location.origin}/install.sh | sudo sh -s -- --token '${activation.data.token}'`}
          />
        </div>
      )}

      {editing && current && (
        <Suspense fallback={<p className="loading">Loading editor…</p>}>
          <Editor
            device={d}
            base={current}
            onDone={(text) => {
              setEditing(false);
              setMessage(text);
              refresh();
            }}
          />
        </Suspense>
      )}

      <h2>Staged</h2>
      {staged.length === 0 ? (
        <p className="muted">Nothing staged.</p>
      ) : (
        <ul className="cards">
          {staged.map((s) => (
            <li key={s.id}>
              <strong>{s.release?.version ?? s.release_id}</strong> — {s.description}{' '}
              <Status value={s.status} />
              <div className="actions">
                {canDeploy && (
                  <button type="button" onClick={() => act.mutate({ action: 'deploy', deployment: s.id })}>
                    Deploy
                  </button>
                )}
                {canArchive && (
                  <button type="button" onClick={() => act.mutate({ action: 'archive', deployment: s.id })}>
                    Archive
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}

      <h2>Files on the robot</h2>
      {current ? (
        [...filesOf(current)].map(([path, text]) => (
          <figure key={path}>
            <figcaption>{path}</figcaption>
            <Code text={text} label={`Content of ${path}`} />
          </figure>
        ))
      ) : (
        <p className="muted">No current deployment.</p>
      )}

      <h2>Deployments</h2>
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">Release</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {all.map((dep) => (
            <tr key={dep.id} data-deployment={dep.id}>
              <td>
                <button type="button" className="link" onClick={() => setTimelineOf(dep.id)}>
                  {dep.description || dep.id}
                </button>
              </td>
              <td>{dep.release?.version ?? dep.release_id}</td>
              <td>
                <Status value={dep.status} />
              </td>
              <td>{ago(dep.created_at)}</td>
              <td>
                {canStage && dep.target_status === 'archived' && (
                  <button type="button" onClick={() => act.mutate({ action: 'restage', deployment: dep.id })}>
                    Restage
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {timelineId && <Timeline deploymentId={timelineId} />}
      {all.length >= 2 && <CompareDeployments deployments={all} />}
    </section>
  );
}

function Timeline({ deploymentId }: { deploymentId: string }) {
  const events = useQuery({
    queryKey: ['deployment', deploymentId, 'events'],
    queryFn: () => api.deployments.events(deploymentId, { limit: 100 }),
  });
  return (
    <>
      <h2>Timeline of {deploymentId}</h2>
      <ol className="timeline" aria-label="Deployment timeline">
        {events.data?.data.map((e) => (
          <li key={e.id}>
            <time dateTime={e.timestamp}>{new Date(e.timestamp).toLocaleString()}</time>{' '}
            <Status value={e.to.status} /> by {e.actor.type}
            {e.actor.id ? ` ${e.actor.id}` : ''}
            {e.attempt ? ` (attempt ${e.attempt})` : ''}
            {e.message ? ` — ${e.message}` : ''}
          </li>
        ))}
      </ol>
    </>
  );
}

function CompareDeployments({ deployments }: { deployments: Deployment[] }) {
  const [a, setA] = useState(deployments[1]?.id ?? '');
  const [b, setB] = useState(deployments[0]?.id ?? '');
  const before = deployments.find((d) => d.id === a);
  const after = deployments.find((d) => d.id === b);
  const label = (d: Deployment) =>
    `${d.description || d.id} (${d.release?.version ?? d.release_id}, ${d.status})`;
  return (
    <>
      <h2>Compare deployments</h2>
      <div className="filters">
        <label>
          From
          <select value={a} onChange={(e) => setA(e.target.value)}>
            {deployments.map((d) => (
              <option key={d.id} value={d.id}>
                {label(d)}
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <select value={b} onChange={(e) => setB(e.target.value)}>
            {deployments.map((d) => (
              <option key={d.id} value={d.id}>
                {label(d)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Diff files={diffFiles(filesOf(before), filesOf(after))} />
    </>
  );
}
