import { randomBase62 } from '@bosun/core';
import type { MqttClient } from 'mqtt';
import { deviceTopic, TOPIC_ROOT } from './topics.ts';

/**
 * Mosquitto 2's dynamic-security plugin, driven over its `$CONTROL/dynamic-security/v1` API
 * (docs/decisions.md #59). Each device gets a broker client (username = client id = device id) with a
 * role of its own that allows exactly the embedded broker's device ACL: subscribe to its `sync` and
 * `ping`, publish its `pong` and `presence`. The server's own account (the plugin's admin, created by
 * `deploy/mosquitto/setup-dynsec.sh`) is given a role for every device's topics at start-up.
 */
export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;
const SERVER_ROLE = 'bosun-server';
const deviceRole = (deviceId: string) => `bosun-device-${deviceId}`;
/** How long a command may wait for the plugin's answer. */
const COMMAND_TIMEOUT_MS = 15_000;

export type DynsecCommand = { command: string } & Record<string, unknown>;
export interface DynsecResponse {
  command: string;
  error?: string;
}

export class DynsecUnavailableError extends Error {}

export class DynsecAdmin {
  private readonly waiting = new Map<string, (responses: DynsecResponse[]) => void>();

  constructor(private readonly client: MqttClient) {}

  /** Feed every message of {@link DYNSEC_RESPONSE_TOPIC} here; answers of other replicas are ignored. */
  onResponse(payload: Buffer): void {
    let responses: Array<DynsecResponse & { correlationData?: unknown }>;
    try {
      responses = (JSON.parse(payload.toString()) as { responses: typeof responses }).responses;
    } catch {
      return;
    }
    if (!Array.isArray(responses)) return;
    const id = responses.find((r) => typeof r?.correlationData === 'string')?.correlationData as string;
    const done = id === undefined ? undefined : this.waiting.get(id);
    if (done) {
      this.waiting.delete(id);
      done(responses);
    }
  }

  /**
   * Sends commands in one message (the plugin runs them in order and answers each). The first command
   * carries the correlation id; an unanswered batch (plugin not loaded, or the account may not use
   * it) is a {@link DynsecUnavailableError}.
   */
  async run(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    const id = randomBase62(16);
    const [first, ...rest] = commands;
    if (!first) return [];
    return new Promise<DynsecResponse[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new DynsecUnavailableError(
            `the broker's dynamic-security plugin did not answer ${first.command} within ${COMMAND_TIMEOUT_MS} ms (is the plugin loaded, and is the server's account its admin?)`,
          ),
        );
      }, COMMAND_TIMEOUT_MS);
      this.waiting.set(id, (responses) => {
        clearTimeout(timer);
        resolve(responses);
      });
      this.client
        .publishAsync(
          DYNSEC_TOPIC,
          JSON.stringify({ commands: [{ ...first, correlationData: id }, ...rest] }),
          {
            qos: 1,
          },
        )
        .catch((err: Error) => {
          clearTimeout(timer);
          this.waiting.delete(id);
          reject(new DynsecUnavailableError(`could not send a dynamic-security command: ${err.message}`));
        });
    });
  }

  /**
   * Makes sure the server's own account has the role for every device's topics (run on every
   * connect). Returns false when the role had to be added: the plugin then ends this session, and the
   * next connect finds the role in place.
   */
  async grantServer(username: string): Promise<boolean> {
    const all = `${TOPIC_ROOT}#`;
    const [created, client] = await this.run([
      {
        command: 'createRole',
        rolename: SERVER_ROLE,
        textname: 'Bosun server replicas: every device topic',
        acls: [
          { acltype: 'publishClientSend', topic: all, allow: true },
          { acltype: 'publishClientReceive', topic: all, allow: true },
          { acltype: 'subscribePattern', topic: all, allow: true },
          { acltype: 'unsubscribePattern', topic: all, allow: true },
        ],
      },
      { command: 'getClient', username },
    ]);
    if (created?.error && !/already exists/i.test(created.error))
      throw new DynsecUnavailableError(`dynamic security refused createRole: ${created.error}`);
    const roles = (client as { data?: { client?: { roles?: Array<{ rolename?: string }> } } } | undefined)
      ?.data?.client?.roles;
    if (!roles) throw new DynsecUnavailableError(`dynamic security does not know the client '${username}'`);
    if (roles.some((r) => r.rolename === SERVER_ROLE)) return true;
    // Changing a client's roles ends its sessions, this one included.
    this.client.publish(
      DYNSEC_TOPIC,
      JSON.stringify({ commands: [{ command: 'addClientRole', username, rolename: SERVER_ROLE }] }),
      { qos: 1 },
    );
    return false;
  }

  /**
   * Sets the device's broker password, creating its client and role when absent. Changing the
   * password ends the device's open session (the plugin kicks it), so this runs only when the agent
   * asks for credentials, before it connects.
   */
  async grantDevice(deviceId: string, password: string): Promise<void> {
    const rolename = deviceRole(deviceId);
    const responses = await this.run([
      {
        command: 'createRole',
        rolename,
        acls: [
          { acltype: 'subscribeLiteral', topic: deviceTopic(deviceId, 'sync'), allow: true },
          { acltype: 'subscribeLiteral', topic: deviceTopic(deviceId, 'ping'), allow: true },
          { acltype: 'publishClientSend', topic: deviceTopic(deviceId, 'pong'), allow: true },
          { acltype: 'publishClientSend', topic: deviceTopic(deviceId, 'presence'), allow: true },
        ],
      },
      { command: 'createClient', username: deviceId, clientid: deviceId, password, roles: [{ rolename }] },
      { command: 'setClientPassword', username: deviceId, password },
    ]);
    const failed = responses.find((r) => r.error && !/already exists/i.test(r.error));
    if (failed)
      throw new DynsecUnavailableError(`dynamic security refused ${failed.command}: ${failed.error}`);
  }

  /** Removes the device's client and role; the plugin disconnects its open session at once. */
  async revokeDevice(deviceId: string): Promise<void> {
    const responses = await this.run([
      { command: 'deleteClient', username: deviceId },
      { command: 'deleteRole', rolename: deviceRole(deviceId) },
    ]);
    const failed = responses.find((r) => r.error && !/not found/i.test(r.error));
    if (failed)
      throw new DynsecUnavailableError(`dynamic security refused ${failed.command}: ${failed.error}`);
  }
}
