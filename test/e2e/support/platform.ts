import { type FetchLike, nodeFetch } from '@bosun/sdk/node-fetch';
import { API_VERSION } from '../../support/server.ts';
import { runCli } from './fleet.ts';

/**
 * The platform API calls an operator makes to get one file onto robots, against any base URL (a
 * replica, a load balancer, an https server) through `nodeFetch` or one that trusts a test CA.
 */
export class Platform {
  constructor(
    readonly url: string,
    readonly adminKey: string,
    private readonly fetch: FetchLike = nodeFetch,
  ) {}

  /** Admin call; throws unless HTTP 200. */
  async api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(`${this.url}/beta/${path}`, {
      method,
      headers: {
        'miru-version': API_VERSION,
        'x-api-key': this.adminKey,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** A config type with one JSON schema at `path`, in a release of its own. */
  async release(tag: string, path: string): Promise<{ releaseId: string; schemaId: string }> {
    const type = await this.api('POST', 'config_types', { name: `Net ${tag}`, slug: `net-${tag}` });
    const schema = await this.api('POST', 'config_schemas', {
      config_type_ref: { id: type.id },
      instance_filepath: path,
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'schema.json', data: JSON.stringify({ type: 'object' }) }],
    });
    const release = await this.api('POST', 'releases', {
      version: `1.0.0-${tag}`,
      config_schema_ids: [schema.id],
    });
    return { releaseId: release.id, schemaId: schema.id };
  }

  /** Creates `data` as an instance and deploys it to the device; returns the deployment id. */
  async deploy(
    deviceId: string,
    rel: { releaseId: string; schemaId: string },
    data: string,
  ): Promise<string> {
    const instance = await this.api('POST', 'config_instances', {
      config_schema_id: rel.schemaId,
      content: { format: 'json', data },
    });
    const d = await this.api('POST', 'deployments', {
      target_status: 'deployed',
      description: 'e2e',
      release_id: rel.releaseId,
      device_id: deviceId,
      config_instance_ids: [instance.id],
    });
    return d.id as string;
  }

  /** A device and its one-time activation token. */
  async newDevice(name: string): Promise<{ id: string; token: string }> {
    const device = await this.api('POST', 'devices', { name });
    const { token } = await this.api('POST', `devices/${device.id}/activation_token`, {});
    return { id: device.id, token };
  }
}

/** `bosun agent provision` against `server`, with extra flags (e.g. `--ca-file`). */
export function provisionAgent(server: string, stateDir: string, token: string, extra: string[] = []) {
  return runCli(['agent', 'provision', '--server', server, '--state-dir', stateDir, ...extra], {
    BOSUN_ACTIVATION_TOKEN: token,
  });
}
