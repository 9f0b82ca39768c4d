import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useCan } from '../App.tsx';
import { api, errorText } from '../api.ts';
import { Secret } from '../components/Secret.tsx';
import { ago, Status } from '../components/Status.tsx';
import { href } from '../router.ts';
import { EVENT_TYPES, splitList } from './Webhooks.tsx';

/** One endpoint: edit, rotate its secret, send a test event, its delivery log with redeliver. */
export default function WebhookEndpointPage({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const canWrite = useCan('webhooks:write');
  const [message, setMessage] = useState('');
  const [secret, setSecret] = useState('');
  const endpoint = useQuery({ queryKey: ['webhook', id], queryFn: () => api.webhookEndpoints.get(id) });
  const deliveries = useQuery({
    queryKey: ['webhook', id, 'deliveries'],
    queryFn: () => api.webhookEndpoints.deliveries(id, { limit: 50, order_by: ['created_at:desc'] }),
    // Delivery happens in the server's worker; while something is pending, look again.
    refetchInterval: (q) => (q.state.data?.data.some((d) => d.status === 'pending') ? 1_000 : false),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['webhook', id] });
    void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
  };
  const run = useMutation({
    mutationFn: async (step: () => Promise<string>) => step(),
    onSuccess: (text) => setMessage(text),
    onError: (err) => setMessage(errorText(err)),
    onSettled: refresh,
  });

  if (endpoint.error) return <p role="alert">{errorText(endpoint.error)}</p>;
  if (!endpoint.data) return <p className="loading">Loading…</p>;
  const e = endpoint.data;
  return (
    <section aria-labelledby="endpoint-title">
      <p>
        <a href={href('webhooks')}>← Webhooks</a>
      </p>
      <h1 id="endpoint-title">{e.url}</h1>
      <dl className="facts">
        <dt>Id</dt>
        <dd>{e.id}</dd>
        <dt>State</dt>
        <dd data-testid="endpoint-state">{e.enabled ? 'enabled' : 'disabled'}</dd>
        {e.disabled_reason && (
          <>
            <dt>Disabled because</dt>
            <dd>{e.disabled_reason}</dd>
          </>
        )}
        <dt>Event types</dt>
        <dd>{e.event_types.join(', ')}</dd>
      </dl>
      {canWrite && (
        <>
          <form
            key={e.updated_at}
            className="panel stacked"
            aria-labelledby="edit-endpoint-title"
            onSubmit={(ev) => {
              ev.preventDefault();
              const f = new FormData(ev.currentTarget);
              run.mutate(async () => {
                await api.webhookEndpoints.update(id, {
                  url: String(f.get('url') ?? '').trim(),
                  description: String(f.get('description') ?? ''),
                  event_types: splitList(String(f.get('events') ?? '')),
                  enabled: f.get('enabled') === 'on',
                });
                return 'Endpoint saved';
              });
            }}
          >
            <h2 id="edit-endpoint-title">Edit</h2>
            <label>
              URL
              <input name="url" type="url" required defaultValue={e.url} />
            </label>
            <label>
              Description
              <input name="description" maxLength={500} defaultValue={e.description} />
            </label>
            <label>
              Event types (comma-separated)
              <input name="events" required defaultValue={e.event_types.join(', ')} list="event-types" />
            </label>
            <datalist id="event-types">
              {EVENT_TYPES.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
            <label className="check">
              <input type="checkbox" name="enabled" defaultChecked={e.enabled} />
              enabled
            </label>
            <div className="actions">
              <button type="submit" className="primary">
                Save
              </button>
            </div>
          </form>
          <div className="actions">
            <button
              type="button"
              disabled={!e.enabled}
              onClick={() =>
                run.mutate(async () => {
                  const t = await api.webhookEndpoints.test(id);
                  void queryClient.invalidateQueries({ queryKey: ['webhook', id, 'deliveries'] });
                  return `Test event ${t.event_id} queued`;
                })
              }
            >
              Send test event
            </button>
            <button
              type="button"
              onClick={() =>
                run.mutate(async () => {
                  const rotated = await api.webhookEndpoints.rotateSecret(id);
                  setSecret(rotated.secret);
                  return 'Secret rotated; the previous one keeps signing for 24 h';
                })
              }
            >
              Rotate secret
            </button>
          </div>
        </>
      )}
      {message && (
        <p role="status" className="message">
          {message}
        </p>
      )}
      {secret && <Secret label="New signing secret" value={secret} />}

      <h2>Deliveries</h2>
      {deliveries.error && <p role="alert">{errorText(deliveries.error)}</p>}
      <table className="grid">
        <caption className="visually-hidden">Deliveries to this endpoint, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Created</th>
            {canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {deliveries.data?.data.map((d) => {
            const last = d.attempts.at(-1);
            return (
              <tr key={d.id} data-event-type={d.event_type} data-delivery={d.id}>
                <td>
                  <code>{d.event_id}</code>
                </td>
                <td>{d.event_type}</td>
                <td>
                  <Status value={d.status} />
                </td>
                <td>{d.attempts.length}</td>
                <td>
                  {last
                    ? `${last.status_code ?? last.error ?? '—'} in ${last.latency_ms} ms${last.response_excerpt ? `: ${last.response_excerpt.slice(0, 80)}` : ''}`
                    : d.next_attempt_at
                      ? `next try ${new Date(d.next_attempt_at).toLocaleTimeString()}`
                      : '—'}
                </td>
                <td>{ago(d.created_at)}</td>
                {canWrite && (
                  <td>
                    <button
                      type="button"
                      aria-label={`Redeliver ${d.event_id}`}
                      onClick={() =>
                        run.mutate(async () => {
                          await api.webhookEndpoints.redeliver(id, d.id);
                          void queryClient.invalidateQueries({ queryKey: ['webhook', id, 'deliveries'] });
                          return `Redelivery of ${d.event_id} queued`;
                        })
                      }
                    >
                      Redeliver
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {deliveries.data?.data.length === 0 && <p className="muted">No deliveries yet.</p>}
    </section>
  );
}
