import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { href } from '../router.ts';
import { groupPaths, useGroups } from './groups.ts';

/** `env=prod, site=berlin` → `{env: 'prod', site: 'berlin'}`; the server checks keys and values. */
export function parseTags(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`'${item}' is not key=value.`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

const tagText = (tags: Record<string, string>) =>
  Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** A device's group (a link to it) and its tags, editable with devices:write. */
export function DeviceTags({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const canWrite = useCan('devices:write');
  const canGroups = useCan('groups:read');
  const groups = useGroups(canGroups);
  const paths = groupPaths(groups.data ?? []);
  const membership = useQuery({ queryKey: ['membership', id], queryFn: () => api.devices.membership(id) });
  const [error, setError] = useState('');
  const save = useMutation({
    mutationFn: async (text: string) => api.devices.setTags(id, { tags: parseTags(text) }),
    onSuccess: (m) => {
      setError('');
      queryClient.setQueryData(['membership', id], m);
      void queryClient.invalidateQueries({ queryKey: ['fleet'] });
    },
    onError: (err) => setError(errorText(err)),
  });
  const m = membership.data;
  if (!m) return null;
  return (
    <>
      <dl className="facts">
        <dt>Group</dt>
        <dd data-testid="device-group">
          {m.group_id ? (
            canGroups ? (
              <a href={href('groups', m.group_id)}>{paths.get(m.group_id) ?? m.group_id}</a>
            ) : (
              m.group_id
            )
          ) : (
            'none'
          )}
        </dd>
        <dt>Tags</dt>
        <dd data-testid="device-tags">{tagText(m.tags) || 'none'}</dd>
      </dl>
      {canWrite && (
        <form
          className="filters"
          aria-label="Edit tags"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(String(new FormData(e.currentTarget).get('tags') ?? ''));
          }}
        >
          <label>
            Tags (key=value, comma-separated)
            <input name="tags" key={tagText(m.tags)} defaultValue={tagText(m.tags)} />
          </label>
          <button type="submit">Save tags</button>
        </form>
      )}
      {error && <p role="alert">{error}</p>}
    </>
  );
}
