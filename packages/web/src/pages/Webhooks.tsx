import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { Secret } from '../components/Secret.tsx';
import { href } from '../router.ts';

/** Event types a form offers; the server knows more (wildcards such as `deployment.*`). */
export const EVENT_TYPES = [
  '*',
  'deployment.created',
  'deployment.status_changed',
  'deployment.drifted',
  'device.created',
  'device.online',
  'device.offline',
  'release.created',
  'config_instance.created',
  'rollout.*',
  'rollout.created',
  'rollout.wave_started',
  'rollout.paused',
  'rollout.resumed',
  'rollout.completed',
  'rollout.aborted',
  'webhook_endpoint.disabled',
  'deployment.validate',
];

export const splitList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Webhook endpoints: the list and a form to add one (its signing secret is shown once). */
export default function WebhooksPage() {
  const queryClient = useQueryClient();
  const canWrite = useCan('webhooks:write');
  const [secret, setSecret] = useState<{ id: string; value: string } | undefined>();
  const [error, setError] = useState('');
  const endpoints = useQuery({
    queryKey: ['webhooks'],
    queryFn: () => api.webhookEndpoints.listAll({ limit: 100 }),
  });
  const create = useMutation({
    mutationFn: (form: FormData) =>
      api.webhookEndpoints.create({
        url: String(form.get('url') ?? '').trim(),
        description: String(form.get('description') ?? ''),
        event_types: splitList(String(form.get('events') ?? '')),
        enabled: form.get('enabled') === 'on',
      }),
    onSuccess: (e) => {
      setError('');
      setSecret({ id: e.id, value: e.secret });
    },
    onError: (err) => setError(errorText(err)),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['webhooks'] }),
  });

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      {canWrite && (
        <form
          className="panel stacked"
          aria-labelledby="new-endpoint-title"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(new FormData(e.currentTarget));
            e.currentTarget.reset();
          }}
        >
          <h2 id="new-endpoint-title">New endpoint</h2>
          <label>
            URL
            <input name="url" type="url" required placeholder="https://hooks.example.com/bosun" />
          </label>
          <label>
            Description
            <input name="description" maxLength={500} />
          </label>
          <label>
            Event types (comma-separated; * for all, deployment.* for a family)
            <input name="events" required defaultValue="*" list="event-types" />
          </label>
          <datalist id="event-types">
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
          <label className="check">
            <input type="checkbox" name="enabled" defaultChecked />
            enabled
          </label>
          <div className="actions">
            <button type="submit" className="primary">
              Create endpoint
            </button>
          </div>
        </form>
      )}
      {error && <p role="alert">{error}</p>}
      {secret && (
        <>
          <Secret label={`Signing secret of ${secret.id}`} value={secret.value} />
          <p>
            <a href={href('webhooks', secret.id)}>Open the new endpoint</a>
          </p>
        </>
      )}
      {endpoints.error && <p role="alert">{errorText(endpoints.error)}</p>}
      <table className="grid">
        <caption className="visually-hidden">Webhook endpoints</caption>
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Description</th>
            <th scope="col">Event types</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {endpoints.data?.map((e) => (
            <tr key={e.id} data-endpoint={e.url}>
              <td>
                <a href={href('webhooks', e.id)}>{e.url}</a>
              </td>
              <td>{e.description}</td>
              <td>{e.event_types.join(', ')}</td>
              <td>
                {e.enabled ? 'enabled' : `disabled${e.disabled_reason ? `: ${e.disabled_reason}` : ''}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {endpoints.data?.length === 0 && <p className="muted">No endpoints yet.</p>}
    </section>
  );
}
