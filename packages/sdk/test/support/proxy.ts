import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A real HTTP proxy in front of a real server. `intercept` may answer a request itself (e.g. a 503)
 * by returning a status; otherwise the request is forwarded untouched. Every request is recorded.
 */
export async function startProxy(
  target: string,
  intercept: (
    req: SeenRequest,
    index: number,
  ) => { status: number; body?: string; headers?: Record<string, string> } | null = () => null,
  opts: {
    /**
     * Forward the request and let the server answer it completely, then cut the client's connection
     * without passing the answer on: a response lost on the way back.
     */
    dropResponse?: (req: SeenRequest, index: number) => boolean;
  } = {},
): Promise<{ url: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const entry = { method: req.method!, url: req.url!, headers: req.headers };
    const answer = intercept(entry, seen.length);
    const drop = opts.dropResponse?.(entry, seen.length) ?? false;
    seen.push(entry);
    if (answer) {
      req.resume();
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(answer.body ?? '');
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        if (drop) {
          up.resume();
          up.on('end', () => res.socket?.destroy());
          return;
        }
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
