import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between agents and the server (HTTP and the MQTT WebSocket alike) that can drop the
 * network (every open connection is cut and new ones are reset until it is restored) or delay it
 * (each chunk is held back in both directions, order kept).
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  dropped = false;
  delayMs = 0;
  port = 0;

  constructor(private readonly targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.dropped) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.track(client);
      this.track(upstream);
      this.pipe(client, upstream);
      this.pipe(upstream, client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  private track(s: Socket) {
    this.sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => this.sockets.delete(s));
  }

  private pipe(from: Socket, to: Socket) {
    // A chain of promises keeps the chunks in order whatever the delay.
    let chain = Promise.resolve();
    from.on('data', (chunk) => {
      const delay = this.delayMs;
      chain = chain.then(async () => {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('close', () => {
      chain = chain.then(() => {
        to.destroy();
      });
    });
  }

  /** Cuts every connection now and resets new ones until `restore()`. */
  drop(): void {
    this.dropped = true;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  restore(): void {
    this.dropped = false;
    this.delayMs = 0;
  }

  async stop(): Promise<void> {
    this.drop();
    await new Promise((r) => this.server?.close(r));
  }
}
