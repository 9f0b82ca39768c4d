import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { groupPaths, groupTree, useGroups } from '../components/groups.ts';
import { parseWaves, RolloutProgress } from '../components/rollouts.tsx';
import { ago, Status } from '../components/Status.tsx';
import { href } from '../router.ts';
import { deviceIdsFor } from './Groups.tsx';

const KEEP = 'keep';

/** Rollouts with status and progress; a form to start one. */
export default function RolloutsPage() {
  const canWrite = useCan('rollouts:write');
  const releases = useQuery({
    queryKey: ['releases', 'all'],
    queryFn: () => api.releases.listAll({ limit: 100 }),
  });
  const rollouts = useQuery({
    queryKey: ['rollouts'],
    queryFn: () => api.rollouts.list({ limit: 50, order_by: ['created_at:desc'] }),
    // Waves advance on the server's clock; while any runs, look again every few seconds.
    refetchInterval: (q) => (q.state.data?.data.some((r) => r.status === 'running') ? 3_000 : false),
  });
  const version = new Map((releases.data ?? []).map((r) => [r.id, r.version]));
  const [creating, setCreating] = useState(false);

  return (
    <section aria-labelledby="rollouts-title">
      <h1 id="rollouts-title">Rollouts</h1>
      {canWrite && !creating && (
        <div className="actions">
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New rollout
          </button>
        </div>
      )}
      {creating && <NewRollout onClose={() => setCreating(false)} />}
      {rollouts.error && <p role="alert">{errorText(rollouts.error)}</p>}
      <table className="grid">
        <caption className="visually-hidden">Rollouts</caption>
        <thead>
          <tr>
            <th scope="col">Rollout</th>
            <th scope="col">Release</th>
            <th scope="col">Status</th>
            <th scope="col">Wave</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rollouts.data?.data.map((r) => (
            <tr key={r.id} data-rollout={r.description}>
              <td>
                <a href={href('rollouts', r.id)}>{r.description}</a>
              </td>
              <td>{version.get(r.release_id) ?? r.release_id}</td>
              <td>
                <Status value={r.status} />
                {r.status_reason && <span className="muted"> {r.status_reason}</span>}
              </td>
              <td>
                {Math.min(r.current_wave, r.waves.length)} of {r.waves.length}
              </td>
              <td>
                <RolloutProgress rollout={r} />
              </td>
              <td>{ago(r.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rollouts.data?.data.length === 0 && <p className="muted">No rollouts yet.</p>}
    </section>
  );
}

function NewRollout({ onClose }: { onClose: () => void }) {
  const queryClient = useQueryClient();
  const releases = useQuery({
    queryKey: ['releases', 'all'],
    queryFn: () => api.releases.listAll({ limit: 100 }),
  });
  const canGroups = useCan('groups:read');
  const groups = useGroups(canGroups);
  const paths = groupPaths(groups.data ?? []);
  const [releaseId, setReleaseId] = useState('');
  const release = useQuery({
    queryKey: ['release', releaseId, 'schemas'],
    queryFn: () => api.releases.get(releaseId, { expand: ['config_schemas'] }),
    enabled: !!releaseId,
  });
  const schemas = release.data?.config_schemas ?? [];
  const instances = useQuery({
    queryKey: ['config_instances', 'of', schemas.map((s) => s.id)],
    queryFn: async () =>
      (
        await api.configInstances.list({
          config_schema_id: schemas.map((s) => s.id),
          order_by: ['created_at:desc'],
          limit: 100,
        })
      ).data,
    enabled: schemas.length > 0,
  });
  const [error, setError] = useState('');
  const create = useMutation({
    mutationFn: async (form: FormData) => {
      const plan = schemas.map((s) => String(form.get(`plan-${s.id}`) ?? KEEP));
      const waves = parseWaves(String(form.get('waves') ?? ''));
      const soak = String(form.get('soak') ?? '').trim();
      const ratio = String(form.get('ratio') ?? '').trim();
      const tagSelector = String(form.get('tags') ?? '').trim();
      return api.rollouts.create({
        description: String(form.get('description') ?? ''),
        release_id: releaseId,
        plan: {
          config_instance_ids: plan.filter((p) => p !== KEEP),
          keep_current: plan.includes(KEEP),
        },
        selection: {
          group_ids: form.getAll('group').map(String),
          include_subgroups: form.get('subgroups') === 'on',
          ...(tagSelector ? { tag_selector: tagSelector } : {}),
          device_ids: await deviceIdsFor(String(form.get('devices') ?? '')),
        },
        strategy: {
          ...(waves ? { waves } : {}),
          ...(soak ? { soak_seconds: Number(soak) } : {}),
          ...(ratio ? { max_failure_ratio: Number(ratio) } : {}),
          include_new_devices: form.get('include_new') === 'on',
        },
        auto_rollback: form.get('rollback') === 'on',
      });
    },
    onSuccess: (r) => {
      void queryClient.invalidateQueries({ queryKey: ['rollouts'] });
      window.location.hash = href('rollouts', r.id);
    },
    onError: (err) => setError(errorText(err)),
  });

  return (
    <form
      className="panel stacked"
      aria-labelledby="new-rollout-title"
      onSubmit={(e) => {
        e.preventDefault();
        setError('');
        create.mutate(new FormData(e.currentTarget));
      }}
    >
      <h2 id="new-rollout-title">New rollout</h2>
      <label>
        Description
        <input name="description" required maxLength={500} />
      </label>
      <label>
        Release
        <select value={releaseId} onChange={(e) => setReleaseId(e.target.value)} required>
          <option value="">choose a release</option>
          {releases.data?.map((r) => (
            <option key={r.id} value={r.id}>
              {r.version}
            </option>
          ))}
        </select>
      </label>
      {schemas.length > 0 && (
        <fieldset>
          <legend>Plan: the instance of each config type</legend>
          {schemas.map((s) => (
            <label key={s.id}>
              {s.config_type_name} ({s.instance_filepath})
              <select name={`plan-${s.id}`} defaultValue={KEEP}>
                <option value={KEEP}>keep each device's current instance</option>
                {instances.data
                  ?.filter((i) => i.config_schema_id === s.id)
                  .map((i) => (
                    <option key={i.id} value={i.id}>
                      {i.id} ({ago(i.created_at)})
                    </option>
                  ))}
              </select>
            </label>
          ))}
        </fieldset>
      )}
      <fieldset>
        <legend>Devices</legend>
        {canGroups && (groups.data?.length ?? 0) > 0 && (
          <fieldset className="checks">
            <legend>Groups</legend>
            {groupTree(groups.data ?? []).map(({ group }) => (
              <label key={group.id} className="check">
                <input type="checkbox" name="group" value={group.id} />
                {paths.get(group.id)}
              </label>
            ))}
            <label className="check">
              <input type="checkbox" name="subgroups" defaultChecked />
              with subgroups
            </label>
          </fieldset>
        )}
        <label>
          Tag selector
          <input name="tags" placeholder="env=prod,site in (berlin|munich)" />
        </label>
        <label>
          Device names (comma-separated)
          <input name="devices" placeholder="amr-017, amr-018" />
        </label>
        <label className="check">
          <input type="checkbox" name="include_new" />
          include devices that join the groups or tags during the rollout
        </label>
      </fieldset>
      <fieldset>
        <legend>Strategy</legend>
        <label>
          Waves (devices or %, comma-separated; the last takes the rest)
          <input name="waves" placeholder="1, 10%, rest" />
        </label>
        <label>
          Soak between waves (seconds)
          <input name="soak" type="number" min={0} inputMode="numeric" placeholder="0" />
        </label>
        <label>
          Max failure ratio per wave (0–1)
          <input name="ratio" type="number" min={0} max={1} step="any" placeholder="0" />
        </label>
        <label className="check">
          <input type="checkbox" name="rollback" defaultChecked />
          roll failed devices back to their previous deployment
        </label>
      </fieldset>
      {error && <p role="alert">{error}</p>}
      <div className="actions">
        <button type="submit" className="primary" disabled={!releaseId || create.isPending}>
          Start rollout
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
