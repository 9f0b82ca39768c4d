import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { resolveServerConfig } from '../src/config.ts';

/**
 * The dashboard's session cookie is `Secure` exactly when the browser reached the server over TLS:
 * here through a real TLS-terminating reverse proxy (node:https with a self-signed certificate made
 * by openssl) in front of a server that trusts it (BOSUN_TRUST_PROXY), against the same server over
 * plain HTTP, and a client forging X-Forwarded-Proto at a server that trusts no proxy.
 */
let dir: string;
let cert: Buffer;
let key: Buffer;
let trusting: TestServer;
let plain: TestServer;
let proxy: Server;
let proxyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bosun-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  key = readFileSync(join(dir, 'key.pem'));
  cert = readFileSync(join(dir, 'cert.pem'));
  trusting = await startTestServer({ config: { trustProxy: ['127.0.0.1'] } });
  plain = await startTestServer();
  const upstream = new URL(trusting.server.url);
  // What nginx/Caddy do: terminate TLS, pass the request on with X-Forwarded-Proto/-For.
  proxy = createHttpsServer({ key, cert }, (req, res) => {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: {
          ...req.headers,
          'x-forwarded-proto': 'https',
          'x-forwarded-for': req.socket.remoteAddress ?? '',
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyPort = (proxy.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await trusting?.close();
  await plain?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** POST /ui/session with the admin key; the Set-Cookie headers of the answer. */
function signIn(
  url: string,
  adminKey: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; cookies: string[] }> {
  const target = new URL('/ui/session', url);
  const body = JSON.stringify({ api_key: adminKey });
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        // Trust exactly the proxy's self-signed certificate: a real TLS handshake, verified.
        ...(target.protocol === 'https:' ? { ca: cert } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, cookies: res.headers['set-cookie'] ?? [] }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const cookie = (cookies: string[], name: string) => cookies.find((c) => c.startsWith(`${name}=`)) ?? '';

describe('session cookie Secure over TLS', () => {
  it('through a TLS-terminating proxy the server trusts: Secure (session and CSRF cookies)', async () => {
    const res = await signIn(`https://127.0.0.1:${proxyPort}`, trusting.adminKey);
    expect(res.status).toBe(200);
    expect(cookie(res.cookies, 'bosun_session')).toMatch(/; Secure/i);
    expect(cookie(res.cookies, 'bosun_session')).toMatch(/; HttpOnly/i);
    expect(cookie(res.cookies, 'bosun_session')).toMatch(/; SameSite=Strict/i);
    expect(cookie(res.cookies, 'bosun_csrf')).toMatch(/; Secure/i);
  });

  it('the same server over plain HTTP: not Secure', async () => {
    const res = await signIn(trusting.server.url, trusting.adminKey);
    expect(res.status).toBe(200);
    expect(cookie(res.cookies, 'bosun_session')).not.toBe('');
    expect(cookie(res.cookies, 'bosun_session')).not.toMatch(/; Secure/i);
  });

  it('a client forging X-Forwarded-Proto at a server that trusts no proxy: not Secure', async () => {
    const res = await signIn(plain.server.url, plain.adminKey, { 'x-forwarded-proto': 'https' });
    expect(res.status).toBe(200);
    expect(cookie(res.cookies, 'bosun_session')).not.toMatch(/; Secure/i);
  });

  it('BOSUN_TRUST_PROXY takes addresses and CIDRs and refuses anything else at start-up', () => {
    expect(resolveServerConfig({}, {}).trustProxy).toBeUndefined();
    expect(resolveServerConfig({}, { BOSUN_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1' }).trustProxy).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
    ]);
    for (const bad of ['true', 'proxy.local', '10.0.0.0/33', '1.2.3.4/8/9', '127.0.0.1,'])
      expect(() => resolveServerConfig({}, { BOSUN_TRUST_PROXY: bad }), bad).toThrow(/BOSUN_TRUST_PROXY/);
  });
});
