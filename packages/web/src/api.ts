import { BosunApiError, BosunClient, type ResponseOf } from '@bosun/sdk';

/** The CSRF token the server set at sign-in (readable cookie); echoed on every state-changing call. */
export function csrfToken(): string {
  const entry = document.cookie.split('; ').find((c) => c.startsWith('bosun_csrf='));
  return entry ? decodeURIComponent(entry.slice('bosun_csrf='.length)) : '';
}

/**
 * The SDK's transport with the session cookie instead of a key: the page never holds an API key
 * (the httpOnly cookie carries the session), and writes carry the CSRF header.
 */
const sessionFetch: typeof fetch = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.delete('x-api-key');
  const method = (init.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') headers.set('x-csrf-token', csrfToken());
  return fetch(input, { ...init, headers, credentials: 'same-origin' });
};

export const api = new BosunClient({
  baseUrl: window.location.origin,
  // Placeholder the transport requires; sessionFetch strips the header it becomes.
  apiKey: 'session',
  fetch: sessionFetch,
  retries: 1,
  // crypto.randomUUID needs a secure context, which a robot LAN over plain HTTP is not.
  idempotencyKeys: false,
});

export interface Session {
  object: 'ui_session';
  principal: { id: string; name: string; scopes: string[] };
  expires_at: string;
}

async function sessionCall(method: string, body?: unknown): Promise<Session | undefined> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  const res = await fetch('/ui/session', {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (res.status === 204) return undefined;
  const json = (await res.json()) as Session & { error?: { message: string } };
  if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
  return json;
}

export const signIn = (apiKey: string) => sessionCall('POST', { api_key: apiKey }) as Promise<Session>;
export const signOut = () => sessionCall('DELETE');
export async function currentSession(): Promise<Session | null> {
  try {
    return (await sessionCall('GET')) ?? null;
  } catch {
    return null;
  }
}

/** The scope rule of core (`manage` implies every action of its resource), for hiding controls. */
export function holds(scopes: readonly string[], scope: string): boolean {
  return scopes.includes(scope) || scopes.includes(`${scope.slice(0, scope.indexOf(':'))}:manage`);
}

export function errorText(err: unknown): string {
  if (err instanceof BosunApiError) return `${err.envelope.error.code}: ${err.envelope.error.message}`;
  return err instanceof Error ? err.message : String(err);
}

export type FleetPage = ResponseOf<'listFleet'>;
export type FleetSummary = ResponseOf<'getFleetSummary'>;
export type DeploymentEvent = ResponseOf<'listDeploymentEvents'>['data'][number];
export type Deployment = ResponseOf<'getDeployment'>;
export type ConfigSchema = ResponseOf<'getConfigSchema'>;
