import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { TestServer } from '../../../../test/support/server.ts';
import { Agent, type AgentOptions } from '../../src/agent.ts';
import { provision } from '../../src/provision.ts';

/** Platform-side setup for agent tests: config types, schemas, releases and instances over HTTP. */
export async function ok<T = any>(t: TestServer, method: string, path: string, body?: unknown): Promise<T> {
  const res = await t.api<T>(method, path, body === undefined ? {} : { body });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

const tag = () => Math.random().toString(36).slice(2, 8);

/** A release with one schema at `path` and an instance holding `data`. */
export async function releaseWithFile(t: TestServer, path: string, data: string) {
  const slug = `type-${tag()}`;
  const type = await ok(t, 'POST', 'config_types', { name: slug, slug });
  const schema = await ok(t, 'POST', 'config_schemas', {
    config_type_ref: { id: type.id },
    instance_filepath: path,
    language: 'jsonschema',
    format: 'json',
    documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
  });
  const release = await ok(t, 'POST', 'releases', {
    version: `1.0.0-${tag()}`,
    config_schema_ids: [schema.id],
  });
  const instance = await ok(t, 'POST', 'config_instances', {
    config_schema_id: schema.id,
    content: { format: 'json', data },
  });
  return { release: release.id as string, instance: instance.id as string, schema: schema.id as string };
}

export async function deploy(t: TestServer, deviceId: string, r: { release: string; instance: string }) {
  const d = await ok(t, 'POST', 'deployments', {
    target_status: 'deployed',
    description: 'agent test',
    release_id: r.release,
    device_id: deviceId,
    config_instance_ids: [r.instance],
  });
  return d.id as string;
}

export async function newDevice(t: TestServer, serverUrl = t.url) {
  const device = await ok(t, 'POST', 'devices', { name: `robot-${tag()}` });
  const { token } = await ok(t, 'POST', `devices/${device.id}/activation_token`, {});
  const stateDir = mkdtempSync(join(tmpdir(), 'bosun-agent-state-'));
  const fsRoot = mkdtempSync(join(tmpdir(), 'bosun-agent-root-'));
  await provision({ server: serverUrl, token, stateDir });
  return { id: device.id as string, stateDir, fsRoot };
}

export function newAgent(device: { stateDir: string; fsRoot: string }, opts: Partial<AgentOptions> = {}) {
  return new Agent({
    stateDir: device.stateDir,
    fsRoot: device.fsRoot,
    push: false,
    pollIntervalMs: 3_600_000,
    driftIntervalMs: 3_600_000,
    logger: pino({ level: process.env.BOSUN_TEST_LOG_LEVEL ?? 'silent' }),
    ...opts,
  });
}

/**
 * A real HTTP proxy in front of the server that can cut the network for chosen requests (the socket
 * is destroyed, as when a link drops), to show what the agent does while offline.
 */
export class FlakyLink {
  cut: (req: IncomingMessage) => boolean = () => false;
  private server: Server | undefined;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const target = new URL(this.target);
    this.server = createServer((req, res) => {
      if (this.cut(req)) {
        req.socket.destroy();
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => req.socket.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
