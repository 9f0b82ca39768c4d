import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { groupPaths, useGroups } from '../components/groups.ts';
import { RolloutProgress } from '../components/rollouts.tsx';
import { ago, Status } from '../components/Status.tsx';
import { href } from '../router.ts';

const STATES = ['pending', 'in_progress', 'deployed', 'failed', 'superseded', 'skipped'] as const;

/**
 * One rollout: per-wave counts, why it paused, Pause / Resume / Abort, its history. Deployment
 * events from the stream refresh it (live.ts); while it runs it is also polled, since waves and
 * soak times advance on the server's clock without a deployment event.
 */
export default function RolloutPage({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const canWrite = useCan('rollouts:write');
  const canGroups = useCan('groups:read');
  const groups = useGroups(canGroups);
  const paths = groupPaths(groups.data ?? []);
  const running = (status: string | undefined) => status === 'running';
  const rollout = useQuery({
    queryKey: ['rollout', id],
    queryFn: () => api.rollouts.get(id),
    refetchInterval: (q) => (running(q.state.data?.status) ? 2_000 : false),
  });
  const events = useQuery({
    queryKey: ['rollout', id, 'events'],
    queryFn: () => api.rollouts.events(id, { limit: 100 }),
    refetchInterval: running(rollout.data?.status) ? 2_000 : false,
  });
  const release = useQuery({
    queryKey: ['release', rollout.data?.release_id],
    queryFn: () => api.releases.get(rollout.data!.release_id),
    enabled: !!rollout.data,
  });
  const [message, setMessage] = useState('');
  const act = useMutation({
    mutationFn: ({ action, reason }: { action: 'pause' | 'resume' | 'abort'; reason?: string }) =>
      api.rollouts[action](id, reason ? { reason } : {}),
    onSuccess: (r, v) => {
      setMessage(`${v.action}: the rollout is now ${r.status}`);
      queryClient.setQueryData(['rollout', id], r);
    },
    onError: (err) => setMessage(errorText(err)),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ['rollout', id] });
      void queryClient.invalidateQueries({ queryKey: ['rollouts'] });
    },
  });

  if (rollout.error) return <p role="alert">{errorText(rollout.error)}</p>;
  if (!rollout.data) return <p className="loading">Loading…</p>;
  const r = rollout.data;
  const sel = r.selection;
  const waveOf = (i: number) => r.strategy.waves[i];
  return (
    <section aria-labelledby="rollout-title">
      <p>
        <a href={href('rollouts')}>← Rollouts</a>
      </p>
      <h1 id="rollout-title">{r.description}</h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd data-testid="rollout-status">
          <Status value={r.status} />
        </dd>
        {r.status_reason && (
          <>
            <dt>Reason</dt>
            <dd data-testid="rollout-reason">{r.status_reason}</dd>
          </>
        )}
        <dt>Release</dt>
        <dd>{release.data?.version ?? r.release_id}</dd>
        <dt>Wave</dt>
        <dd>
          {Math.min(r.current_wave, r.waves.length)} of {r.waves.length}
          {r.soak_until && r.status === 'running' && (
            <> · soaking until {new Date(r.soak_until).toLocaleTimeString()}</>
          )}
        </dd>
        <dt>Progress</dt>
        <dd>
          <RolloutProgress rollout={r} />
        </dd>
        <dt>Selection</dt>
        <dd>
          {[
            sel.group_ids.length
              ? `groups ${sel.group_ids.map((g) => paths.get(g) ?? g).join(', ')}${sel.include_subgroups ? ' (with subgroups)' : ''}`
              : '',
            sel.tag_selector ? `tags ${sel.tag_selector}` : '',
            sel.device_ids.length ? `${sel.device_ids.length} named device(s)` : '',
          ]
            .filter(Boolean)
            .join('; ') || '—'}
        </dd>
        <dt>Strategy</dt>
        <dd>
          soak {r.strategy.soak_seconds} s, max failure ratio {r.strategy.max_failure_ratio}
          {r.auto_rollback === false ? ', no automatic rollback' : ''}
        </dd>
      </dl>
      {canWrite && (r.status === 'running' || r.status === 'paused') && (
        <div className="actions">
          {r.status === 'running' && (
            <button
              type="button"
              onClick={() => act.mutate({ action: 'pause', reason: 'paused from the dashboard' })}
            >
              Pause
            </button>
          )}
          {r.status === 'paused' && (
            <button type="button" className="primary" onClick={() => act.mutate({ action: 'resume' })}>
              Resume
            </button>
          )}
          <button
            type="button"
            onClick={() => {
              if (
                window.confirm(
                  'Abort this rollout? Staged deployments it created are archived; deployed ones stay.',
                )
              )
                act.mutate({ action: 'abort', reason: 'aborted from the dashboard' });
            }}
          >
            Abort
          </button>
        </div>
      )}
      {message && (
        <p role="status" className="message">
          {message}
        </p>
      )}

      <h2>Waves</h2>
      <table className="grid" data-testid="waves">
        <caption className="visually-hidden">Devices per state in each wave</caption>
        <thead>
          <tr>
            <th scope="col">Wave</th>
            <th scope="col">Size</th>
            <th scope="col">Devices</th>
            {STATES.map((s) => (
              <th key={s} scope="col">
                {s.replace('_', ' ')}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {r.waves.map((w, i) => {
            const spec = waveOf(i);
            const counts = w.counts as Record<string, number>;
            return (
              <tr
                key={w.wave}
                data-wave={w.wave}
                aria-current={w.wave === r.current_wave ? 'step' : undefined}
              >
                <th scope="row">{w.wave}</th>
                <td>
                  {spec?.devices !== undefined
                    ? `${spec.devices}`
                    : spec?.percent !== undefined
                      ? `${spec.percent} %`
                      : 'rest'}
                </td>
                <td>{w.devices}</td>
                {STATES.map((s) => (
                  <td key={s} data-state={s}>
                    {counts[s] ?? 0}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>

      <h2>History</h2>
      <ol className="timeline">
        {events.data?.data.map((e) => (
          <li key={e.id}>
            <strong>{e.type}</strong>
            {e.wave !== null && <> · wave {e.wave}</>} — {e.message}{' '}
            <span className="muted">{ago(e.timestamp)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
