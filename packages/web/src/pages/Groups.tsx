import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { groupPaths, groupTree, useGroups } from '../components/groups.ts';
import { Status } from '../components/Status.tsx';
import { href, useRoute } from '../router.ts';

/** Device ids for comma-separated device names (or ids); an unknown name is an error, not a skip. */
export async function deviceIdsFor(text: string): Promise<string[]> {
  const names = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (!names.length) return [];
  const byName = await api.devices.listAll({ name: names.filter((n) => !n.startsWith('dvc_')), limit: 100 });
  const known = new Map(byName.map((d) => [d.name, d.id]));
  return names.map((n) => {
    if (n.startsWith('dvc_')) return n;
    const id = known.get(n);
    if (!id) throw new Error(`No device named '${n}'.`);
    return id;
  });
}

/** The group tree: create, rename, move; a group's devices with assign and unassign. */
export default function GroupsPage() {
  const [, selected] = useRoute();
  const queryClient = useQueryClient();
  const canWrite = useCan('groups:write');
  const groups = useGroups();
  const [message, setMessage] = useState('');
  const all = groups.data ?? [];
  const paths = groupPaths(all);
  const tree = groupTree(all);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['groups'] });
    void queryClient.invalidateQueries({ queryKey: ['group-devices'] });
    void queryClient.invalidateQueries({ queryKey: ['fleet'] });
  };
  const create = useMutation({
    mutationFn: (input: { name: string; parent_id: string | null }) => api.groups.create(input),
    onSuccess: (g) => {
      setMessage(`Group ${g.name} created`);
      window.location.hash = href('groups', g.id);
    },
    onError: (err) => setMessage(errorText(err)),
    onSettled: refresh,
  });

  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups</h1>
      {groups.error && <p role="alert">{errorText(groups.error)}</p>}
      {canWrite && (
        <form
          className="filters"
          aria-label="New group"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            create.mutate({
              name: String(f.get('name') ?? '').trim(),
              parent_id: String(f.get('parent') ?? '') || null,
            });
            e.currentTarget.reset();
          }}
        >
          <label>
            New group name
            <input name="name" required maxLength={48} />
          </label>
          <label>
            Parent
            <select name="parent" defaultValue={selected ?? ''}>
              <option value="">(root)</option>
              {tree.map(({ group }) => (
                <option key={group.id} value={group.id}>
                  {paths.get(group.id)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            Create group
          </button>
        </form>
      )}
      {message && (
        <p role="status" className="message">
          {message}
        </p>
      )}
      <div className="split">
        <nav aria-label="Group tree" className="tree">
          {tree.length === 0 && groups.data && <p className="muted">No groups yet.</p>}
          <ul>
            {tree.map(({ group, depth }) => (
              <li key={group.id} style={{ paddingLeft: `${depth * 1.25}rem` }} data-group={group.name}>
                <a href={href('groups', group.id)} aria-current={group.id === selected ? 'true' : undefined}>
                  {group.name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {selected && paths.has(selected) && (
          <GroupPanel
            key={selected}
            id={selected}
            path={paths.get(selected)!}
            tree={tree}
            paths={paths}
            onChanged={(text) => {
              setMessage(text);
              refresh();
            }}
          />
        )}
        {selected && groups.data && !paths.has(selected) && <p role="alert">No group {selected}.</p>}
      </div>
    </section>
  );
}

function GroupPanel({
  id,
  path,
  tree,
  paths,
  onChanged,
}: {
  id: string;
  path: string;
  tree: ReturnType<typeof groupTree>;
  paths: Map<string, string>;
  onChanged: (message: string) => void;
}) {
  const canWrite = useCan('groups:write');
  const canReadDevices = useCan('devices:read');
  const [error, setError] = useState('');
  const group = tree.find((t) => t.group.id === id)!.group;
  const members = useQuery({
    queryKey: ['group-devices', id],
    queryFn: () => api.devices.list({ group_id: [id], limit: 100 }),
    enabled: canReadDevices,
  });
  // A group cannot move under itself or one of its subgroups.
  const below = new Set<string>([id]);
  for (const { group: g } of tree) if (g.parent_id && below.has(g.parent_id)) below.add(g.id);
  const run = useMutation({
    mutationFn: async (step: () => Promise<string>) => step(),
    onSuccess: (text) => {
      setError('');
      onChanged(text);
    },
    onError: (err) => setError(errorText(err)),
  });

  return (
    <section className="panel" aria-labelledby="group-title">
      <h2 id="group-title">{path}</h2>
      {canWrite && (
        <div className="forms">
          <form
            aria-label="Rename group"
            onSubmit={(e) => {
              e.preventDefault();
              const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
              run.mutate(async () => `Renamed to ${(await api.groups.update(id, { name })).name}`);
            }}
          >
            <label>
              Name
              <input name="name" defaultValue={group.name} required maxLength={48} />
            </label>
            <button type="submit">Rename</button>
          </form>
          <form
            aria-label="Move group"
            onSubmit={(e) => {
              e.preventDefault();
              const parent = String(new FormData(e.currentTarget).get('parent') ?? '') || null;
              run.mutate(async () => {
                await api.groups.move(id, { parent_id: parent });
                return `Moved ${group.name} under ${parent ? paths.get(parent) : 'the root'}`;
              });
            }}
          >
            <label>
              Move under
              <select name="parent" defaultValue={group.parent_id ?? ''}>
                <option value="">(root)</option>
                {tree
                  .filter(({ group: g }) => !below.has(g.id))
                  .map(({ group: g }) => (
                    <option key={g.id} value={g.id}>
                      {paths.get(g.id)}
                    </option>
                  ))}
              </select>
            </label>
            <button type="submit">Move</button>
          </form>
          <form
            aria-label="Assign devices"
            onSubmit={(e) => {
              e.preventDefault();
              const form = e.currentTarget;
              const text = String(new FormData(form).get('devices') ?? '');
              run.mutate(async () => {
                const ids = await deviceIdsFor(text);
                if (!ids.length) throw new Error('Name at least one device.');
                await api.groups.assign(id, { device_ids: ids });
                form.reset();
                return `Assigned ${ids.length} device(s) to ${group.name}`;
              });
            }}
          >
            <label>
              Device names (comma-separated)
              <input name="devices" required placeholder="amr-017, amr-018" />
            </label>
            <button type="submit" className="primary">
              Assign
            </button>
          </form>
        </div>
      )}
      {error && <p role="alert">{error}</p>}
      <h3>Devices in this group</h3>
      {!canReadDevices && <p className="muted">This key cannot list devices (it needs devices:read).</p>}
      <table className="grid">
        <caption className="visually-hidden">Devices in {path}</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Presence</th>
            {canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {members.data?.data.map((d) => (
            <tr key={d.id} data-device={d.name}>
              <td>
                <a href={href('devices', d.id)}>{d.name}</a>
              </td>
              <td>
                <Status value={d.status} />
              </td>
              {canWrite && (
                <td>
                  <button
                    type="button"
                    aria-label={`Unassign ${d.name}`}
                    onClick={() =>
                      run.mutate(async () => {
                        await api.groups.unassign(id, { device_ids: [d.id] });
                        return `Unassigned ${d.name}`;
                      })
                    }
                  >
                    Unassign
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {members.data && members.data.data.length === 0 && <p className="muted">No devices in this group.</p>}
      {members.data?.has_more && <p className="muted">Showing the first 100 devices.</p>}
    </section>
  );
}
