import type { AgentDeployment, AgentDesiredState, AgentReportBody } from '@bosun/core';
import { type FetchAnswer, type FetchInit, type FetchLike, nodeFetch } from '@bosun/sdk/node-fetch';
import { deviceJwt, type Identity } from './identity.ts';
import { tlsHint } from './tls.ts';
import { AGENT_VERSION } from './version.ts';

/** HTTP side of docs/agent-protocol.md (`/agent/v1`). State always travels here, never over MQTT. */

export { AGENT_VERSION };

/** The server could not be reached or is temporarily unavailable: says nothing about a deployment. */
export class NetworkError extends Error {}

/** The server answered with an error envelope. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The wire shapes come from core's protocol module, shared with the server's agent routes. */
export type { AgentDeployment };
export type DesiredState = AgentDesiredState;

/** What the agent sends: the wire body, always with its observation time and report id. */
export type Report = AgentReportBody & { occurred_at: string; report_id: string; message?: string };

export interface ActivateResponse {
  device: { id: string; name: string };
  mqtt: { url: string | null; topic_prefix: string };
}

const TIMEOUT_MS = 10_000;
/** Refresh the access token this long before it expires. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Every request goes through `nodeFetch` (node:http), not the global fetch: on an idle robot undici
 * would cost ≈ 10 MB of lasting RSS (BENCHMARKS.md). The timeout covers the whole exchange, body
 * included. 5xx and 429 say nothing about the request: they are network trouble to retry later.
 */
async function send(fetch: FetchLike, url: string, init: FetchInit): Promise<FetchAnswer> {
  let res: FetchAnswer;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const hint = tlsHint(err);
    throw new NetworkError(
      `cannot reach ${new URL(url).origin}: ${(err as Error).message}${hint ? ` (${hint})` : ''}`,
    );
  }
  if (res.status >= 500 || res.status === 429)
    throw new NetworkError(`server unavailable (HTTP ${res.status})`);
  return res;
}

async function failure(res: FetchAnswer): Promise<HttpError> {
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return new HttpError(res.status, error.code, error.message);
  } catch {
    return new HttpError(res.status, 'http_error', `HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}

const baseHeaders = () => ({ 'bosun-agent-version': AGENT_VERSION });

export async function activate(
  serverUrl: string,
  body: { token: string; public_key_pem: string; hostname?: string },
  fetch: FetchLike = nodeFetch,
): Promise<ActivateResponse> {
  const res = await send(fetch, `${serverUrl}/agent/v1/activate`, {
    method: 'POST',
    headers: { ...baseHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, agent_version: AGENT_VERSION }),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as ActivateResponse;
}

export class AgentClient {
  private token: { value: string; expiresAt: number } | undefined;
  private refreshing: Promise<string> | undefined;
  /** What the broker wants as password, once the server said (see `brokerPassword`). */
  private broker: 'access_token' | { password: string } | undefined;

  constructor(
    readonly serverUrl: string,
    private readonly identity: Identity,
    /** `nodeFetch`, or one that trusts the fleet's CA bundle (`createNodeFetch`). */
    private readonly fetch: FetchLike = nodeFetch,
  ) {}

  /** A valid access token (also the MQTT password), minted by proof of possession when needed. */
  async accessToken(force = false): Promise<string> {
    if (!force && this.token && this.token.expiresAt - Date.now() > REFRESH_MARGIN_MS)
      return this.token.value;
    this.refreshing ??= this.mintToken().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * The MQTT password (docs/agent-protocol.md "MQTT"): the access token, unless the server issues a
   * broker password of its own (Mosquitto dynamic security), which is kept in memory only and asked
   * for again when the broker refuses it (`fresh`). A server without the endpoint means the token.
   */
  async brokerPassword(fresh: boolean): Promise<string> {
    if (this.broker === 'access_token') return this.accessToken(fresh);
    if (!fresh && this.broker) return this.broker.password;
    const res = await this.call('/mqtt_credentials', { method: 'POST' });
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => {});
      this.broker = 'access_token';
      return this.accessToken(fresh);
    }
    if (!res.ok) throw await failure(res);
    const body = (await res.json()) as { kind: 'access_token' } | { kind: 'issued'; password: string };
    this.broker = body.kind === 'issued' ? { password: body.password } : 'access_token';
    return body.kind === 'issued' ? body.password : this.accessToken(fresh);
  }

  private async mintToken(): Promise<string> {
    const res = await send(this.fetch, `${this.serverUrl}/agent/v1/token`, {
      method: 'POST',
      headers: { ...baseHeaders(), authorization: `Bearer ${await deviceJwt(this.identity)}` },
    });
    if (!res.ok) throw await failure(res);
    const body = (await res.json()) as { token: string; expires_at: string };
    this.token = { value: body.token, expiresAt: Date.parse(body.expires_at) };
    return body.token;
  }

  /** Sends an authenticated request; a 401 (expired or revoked token) mints a new token once. */
  private async call(path: string, init: FetchInit = {}): Promise<FetchAnswer> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken(attempt > 0);
      const res = await send(this.fetch, `${this.serverUrl}/agent/v1${path}`, {
        ...init,
        headers: {
          ...baseHeaders(),
          ...init.headers,
          authorization: `Bearer ${token}`,
        },
      });
      if (res.status !== 401 || attempt > 0) return res;
      await res.arrayBuffer().catch(() => {});
    }
  }

  async state(etag?: string): Promise<{ state: DesiredState; etag: string | null } | 'not_modified'> {
    const res = await this.call('/state', { headers: etag ? { 'if-none-match': etag } : {} });
    if (res.status === 304) return 'not_modified';
    if (!res.ok) throw await failure(res);
    return { state: (await res.json()) as DesiredState, etag: res.headers.get('etag') };
  }

  /** One of this device's deployments, or undefined when the server knows none by that id. */
  async deployment(id: string): Promise<AgentDeployment | undefined> {
    const res = await this.call(`/deployments/${encodeURIComponent(id)}`);
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => {});
      return undefined;
    }
    if (!res.ok) throw await failure(res);
    return (await res.json()) as AgentDeployment;
  }

  async content(configInstanceId: string): Promise<Uint8Array> {
    const res = await this.call(`/config_instances/${encodeURIComponent(configInstanceId)}/content`);
    if (!res.ok) throw await failure(res);
    return new Uint8Array(await res.arrayBuffer());
  }

  async report(deploymentId: string, report: Report): Promise<AgentDeployment> {
    const res = await this.call(`/deployments/${encodeURIComponent(deploymentId)}/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(report),
    });
    if (!res.ok) throw await failure(res);
    return (await res.json()) as AgentDeployment;
  }
}
