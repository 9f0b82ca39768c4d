import { API_VERSION } from '@bosun/sdk';
import type { QueryClient } from '@tanstack/react-query';
import { createParser } from 'eventsource-parser';

export type LiveState = 'connecting' | 'live' | 'offline';

/**
 * Follows `/beta/events/stream` (fetch + eventsource-parser: EventSource cannot send the version
 * header) and refreshes the queries an event touches. Reconnects with the last event id.
 */
export function followEvents(client: QueryClient, onState: (s: LiveState) => void): () => void {
  let stopped = false;
  let lastId = '';
  let controller = new AbortController();
  const run = async () => {
    while (!stopped) {
      onState('connecting');
      try {
        const headers: Record<string, string> = { 'miru-version': API_VERSION, accept: 'text/event-stream' };
        if (lastId) headers['last-event-id'] = lastId;
        const res = await fetch('/beta/events/stream', {
          headers,
          credentials: 'same-origin',
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        onState('live');
        const parser = createParser({
          onEvent: (e) => {
            if (e.id) lastId = e.id;
            const data = JSON.parse(e.data) as { device_id?: string; deployment_id?: string };
            if (e.event === 'deployment.status_changed') {
              void client.invalidateQueries({ queryKey: ['deployments'] });
              void client.invalidateQueries({ queryKey: ['deployment', data.deployment_id] });
              // A rollout's counts are its deployments' statuses.
              void client.invalidateQueries({ queryKey: ['rollout'] });
              void client.invalidateQueries({ queryKey: ['rollouts'] });
            }
            void client.invalidateQueries({ queryKey: ['fleet'] });
            void client.invalidateQueries({ queryKey: ['device', data.device_id] });
          },
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      } catch {
        if (stopped) return;
      }
      onState('offline');
      await new Promise((r) => setTimeout(r, 2_000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
    controller = new AbortController();
  };
}
