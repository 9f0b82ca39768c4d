import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got: the three Standard Webhooks headers, the raw body, when it arrived. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  at: number;
}

export type Answer = { status: number; body?: unknown; delayMs?: number } | 'hang';

/**
 * A real HTTP receiver on a loopback port. `answer` decides each response (default 200 `{}`);
 * 'hang' never answers (a timeout on the sender's side). Every request is kept in `received`.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  answer: (r: Received, n: number) => Answer = () => ({ status: 200, body: {} });
  private server: Server | undefined;
  private readonly hung: ServerResponse[] = [];
  private waiters: Array<() => void> = [];

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hook`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this;
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      let json: any;
      try {
        json = JSON.parse(body);
      } catch {}
      const r: Received = {
        id: headers['webhook-id'] ?? '',
        timestamp: headers['webhook-timestamp'] ?? '',
        signature: headers['webhook-signature'] ?? '',
        headers,
        body,
        json,
        at: Date.now(),
      };
      this.received.push(r);
      for (const w of this.waiters.splice(0)) w();
      const a = this.answer(r, this.received.length);
      if (a === 'hang') {
        this.hung.push(res);
        return;
      }
      const send = () => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.body ?? {}));
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  }

  /** Waits until `predicate` holds over what was received (re-checked on every request). */
  async until(predicate: (received: Received[]) => boolean, what = 'webhooks'): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!predicate(this.received)) {
      if (Date.now() > deadline)
        throw new Error(`receiver: gave up waiting for ${what} (${this.received.length} received)`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  ofType(type: string): Received[] {
    return this.received.filter((r) => r.json?.type === type);
  }

  async close(): Promise<void> {
    for (const res of this.hung.splice(0)) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
