import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** `{"reason": "deployment_changed", "at": RFC3339}` on the device's retained `…/sync` topic. */
export interface SyncHint {
  reason: string;
  at: string;
}

export type PingResult = { code: 'success'; round_trip_nanos: number } | { code: 'timeout' };

/** What presence the broker observed: a session opened or closed, or an agent announcing itself. */
export interface PresenceEvent {
  deviceId: string;
  kind: 'connected' | 'disconnected' | 'announced';
  agentVersion?: string | undefined;
  /**
   * True for the embedded broker's own connection events (exactly one per session, in order); false
   * for presence messages seen through an external broker (every replica sees each, retained copies
   * are replayed), which must be applied idempotently.
   */
  authoritative: boolean;
}

export type BrokerCredentials =
  | { kind: 'access_token' }
  | { kind: 'issued'; username: string; password: string };

/** The hooks a broker adapter calls into; storage stays outside the mqtt module. */
export interface PushHooks {
  /** Resolves the device id an access token belongs to (embedded broker authentication). */
  authenticate(deviceId: string, token: string): Promise<{ expiresAt: string } | null>;
  presence(event: PresenceEvent): Promise<void>;
  /** Devices recorded with an open session (re-checked after a reconnect to an external broker). */
  openSessions(): Promise<string[]>;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

/**
 * One interface over the embedded broker and an external one. Push is only a hint: every method may
 * fail (broker down) without losing anything, because the agent also polls.
 */
export interface PushChannel {
  readonly kind: 'embedded' | 'external';
  /** The embedded broker's TCP port when `--mqtt-port` asked for one. */
  readonly tcpPort?: number | undefined;
  /** The broker URL devices should use; `requestOrigin` is the server's origin as the agent sees it. */
  deviceUrl(requestOrigin: { protocol: string; host: string }): string;
  /** Publishes a retained sync hint (QoS 1) so an offline device gets it on connect. */
  publishSync(deviceId: string, hint: SyncHint): Promise<void>;
  /** Round trip through the broker; the pong reaches this replica through its own subscription. */
  ping(deviceId: string, timeoutMs: number): Promise<PingResult>;
  /**
   * What the device logs in to the broker with: its access token (embedded broker, HTTP-auth brokers)
   * or a password issued now and set in the broker (Mosquitto dynamic security; the previous one
   * stops working). The password is returned once and never stored or logged by the server.
   */
  brokerCredentials(deviceId: string): Promise<BrokerCredentials>;
  /** Ends a device's sessions and removes its broker access (reactivation revoked its credentials). */
  disconnect(deviceId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Pings this replica is waiting for, keyed by message id. Every replica receives every pong (they
 * all subscribe to `…/+/pong`); only the one that sent the ping holds the waiter, so the answer goes
 * to whichever replica asked, without any shared process memory.
 */
export class PingWaiters {
  private readonly waiting = new Map<
    string,
    { deviceId: string; sentAt: bigint; done: (r: PingResult) => void }
  >();

  async roundTrip(
    deviceId: string,
    timeoutMs: number,
    send: (messageId: string) => Promise<void>,
  ): Promise<PingResult> {
    const messageId = randomUUID();
    return new Promise<PingResult>((resolve) => {
      const timer = setTimeout(() => finish({ code: 'timeout' }), timeoutMs);
      const finish = (r: PingResult) => {
        clearTimeout(timer);
        this.waiting.delete(messageId);
        resolve(r);
      };
      this.waiting.set(messageId, { deviceId, sentAt: process.hrtime.bigint(), done: finish });
      // A publish that fails (broker unreachable) is a timeout: the agent could not be asked.
      send(messageId).catch(() => {});
    });
  }

  /** Handles a pong payload seen on `…/{deviceId}/pong`; ignores unknown ids and other devices' pongs. */
  pong(deviceId: string, payload: Buffer | string): void {
    let messageId: unknown;
    try {
      messageId = JSON.parse(payload.toString()).message_id;
    } catch {
      return;
    }
    if (typeof messageId !== 'string') return;
    const w = this.waiting.get(messageId);
    if (!w || w.deviceId !== deviceId) return;
    w.done({ code: 'success', round_trip_nanos: Math.max(1, Number(process.hrtime.bigint() - w.sentAt)) });
  }

  cancelAll(): void {
    for (const w of [...this.waiting.values()]) w.done({ code: 'timeout' });
  }
}

export const pingPayload = (messageId: string) =>
  JSON.stringify({ message_id: messageId, sent_at: new Date().toISOString() });

/** `{"status": "online" | "offline", "agent_version"}`; null when malformed. */
export function parsePresence(
  payload: Buffer | string,
): { status: 'online' | 'offline'; agentVersion?: string } | null {
  try {
    const p = JSON.parse(payload.toString());
    if (p?.status !== 'online' && p?.status !== 'offline') return null;
    const v =
      typeof p.agent_version === 'string' && p.agent_version.length <= 64 ? p.agent_version : undefined;
    return v ? { status: p.status, agentVersion: v } : { status: p.status };
  } catch {
    return null;
  }
}
