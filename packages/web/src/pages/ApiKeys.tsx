import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { ago } from '../components/Status.tsx';

/** API keys: list, create (the secret is shown once), revoke. Needs api_keys:manage. */
export function ApiKeysPage() {
  const queryClient = useQueryClient();
  const canManage = useCan('api_keys:manage');
  const [secret, setSecret] = useState('');
  const keys = useQuery({
    queryKey: ['api_keys'],
    queryFn: () => api.apiKeys.listAll(),
    enabled: canManage,
  });
  const create = useMutation({
    mutationFn: (input: { name: string; scopes: string[] }) => api.apiKeys.create(input),
    onSuccess: (k) => setSecret(k.secret),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['api_keys'] }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.apiKeys.revoke(id),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['api_keys'] }),
  });
  if (!canManage)
    return (
      <section>
        <h1>API keys</h1>
        <p>This key cannot manage API keys (it needs api_keys:manage).</p>
      </section>
    );
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const scopes = String(f.get('scopes') ?? '')
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
          create.mutate({ name: String(f.get('name') ?? ''), scopes });
        }}
      >
        <label>
          Name
          <input name="name" required />
        </label>
        <label>
          Scopes (comma-separated)
          <input name="scopes" required placeholder="devices:read, deployments:read" />
        </label>
        <button type="submit">Create key</button>
      </form>
      {create.error && <p role="alert">{errorText(create.error)}</p>}
      {secret && (
        <p role="status" className="secret">
          New key (shown once): <code>{secret}</code>
        </p>
      )}
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>{k.scopes.join(', ')}</td>
              <td>{ago(k.last_used_at)}</td>
              <td>{k.revoked_at ? `revoked ${ago(k.revoked_at)}` : 'active'}</td>
              <td>
                {!k.revoked_at && (
                  <button type="button" onClick={() => revoke.mutate(k.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoke.error && <p role="alert">{errorText(revoke.error)}</p>}
    </section>
  );
}
