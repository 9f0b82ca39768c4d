/**
 * A small closed-loop HTTP load generator: `connections` keep-alive connections, each sending its
 * next request as soon as the previous answer arrived, for `seconds`. node:http rather than fetch:
 * the client's own cost per request must stay well below the server's, and it is the same client
 * for the bare-Fastify ceiling and for Bosun, so their ratio compares servers, not clients.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  firstError?: string;
  /** CPU (user + system) the server process used meanwhile, when its pid was given. */
  serverCpuMs?: number;
}

/** User + system CPU milliseconds of process `pid` so far (all its threads), from /proc. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}
const CLOCK_TICKS_PER_SECOND = 100;

function send(agent: Agent, base: URL, r: LoadRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
    if (r.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(r.body);
    }
    const req = request(
      { agent, host: base.hostname, port: base.port, method: r.method, path: r.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

export async function load(opts: {
  url: string;
  connections: number;
  seconds: number;
  /** The server's pid: its CPU time during the run is reported too. */
  pid?: number;
  /** The request connection `conn` sends as its `i`-th. */
  make: (conn: number, i: number) => LoadRequest;
}): Promise<LoadResult> {
  const base = new URL(opts.url);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpuBefore = opts.pid ? processCpuMs(opts.pid) : 0;
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.connections }, async (_, conn) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; performance.now() < deadline; i++) {
          const t0 = performance.now();
          try {
            const res = await send(agent, base, opts.make(conn, i));
            if (res.status !== 200) {
              errors++;
              firstError ??= `${res.status} ${res.text.slice(0, 300)}`;
            }
          } catch (err) {
            errors++;
            firstError ??= String(err);
          }
          latencies.push(performance.now() - t0);
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    seconds,
    rps: Math.round(latencies.length / seconds),
    p50: Math.round(q(0.5) * 100) / 100,
    p99: Math.round(q(0.99) * 100) / 100,
    errors,
    ...(firstError ? { firstError } : {}),
    ...(opts.pid ? { serverCpuMs: processCpuMs(opts.pid) - cpuBefore } : {}),
  };
}
