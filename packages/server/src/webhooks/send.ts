import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPublicAddress } from '@bosun/core';
import { Webhook } from 'standardwebhooks';
import type { SigningSecrets } from '../storage/webhooks.ts';

export interface SendOptions {
  timeoutMs: number;
  /** `BOSUN_WEBHOOKS_ALLOW_PRIVATE=1`: loopback/private targets and http allowed (local receivers). */
  allowPrivate: boolean;
}

export interface SendResult {
  status: number | null;
  latencyMs: number;
  /** The first 1 KB of the answer, for the delivery log. */
  excerpt: string | null;
  /** Why no status (timeout, refused address, network error). */
  error: string | null;
  /** The whole answer (at most 64 KB), for `deployment.validate`. */
  body: string | null;
}

const EXCERPT_CHARS = 1024;
const HTTP_AGENT = new http.Agent({ keepAlive: true, maxSockets: 64 });
const HTTPS_AGENT = new https.Agent({ keepAlive: true, maxSockets: 64 });
const BODY_LIMIT = 64 * 1024;

/**
 * Standard Webhooks headers for `body`: one `v1,` signature per secret in force (a rotated secret
 * signs too during its grace day), so receivers holding either secret verify.
 */
export function signHeaders(msgId: string, body: string, secrets: SigningSecrets, at = new Date()) {
  const signatures = [secrets.current, ...(secrets.previous ? [secrets.previous] : [])].map((s) =>
    new Webhook(s).sign(msgId, at, body),
  );
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

/** Resolves like the default lookup, then refuses when any address is not public: checked at connect time. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, list) => {
    if (err) return callback(err, '', 0);
    const refused = list.find((a) => !isPublicAddress(a.address));
    if (refused || !list.length) {
      const e = Object.assign(
        new Error(`refused: ${hostname} resolves to ${refused?.address ?? 'nothing'}, not a public address`),
        { code: 'EADDRNOTPUBLIC' },
      );
      return callback(e, '', 0);
    }
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/**
 * POSTs a signed event. No redirect is followed (a 3xx is a failed attempt), the whole exchange has
 * `timeoutMs`, and unless private targets are allowed the connection may only go to a public
 * address: IP literals are checked here, names after resolution by the lookup the socket uses.
 */
export function postSigned(
  url: string,
  msgId: string,
  body: string,
  secrets: SigningSecrets,
  opts: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'latencyMs'>): SendResult => ({
    ...r,
    latencyMs: Math.round(performance.now() - started),
  });
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve(done({ status: null, excerpt: null, error: 'invalid url', body: null }));
    }
    const secure = target.protocol === 'https:';
    if (!secure && !(opts.allowPrivate && target.protocol === 'http:')) {
      return resolve(done({ status: null, excerpt: null, error: 'refused: https only', body: null }));
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!opts.allowPrivate && (host === 'localhost' || !isPublicLiteralOrName(host))) {
      return resolve(
        done({ status: null, excerpt: null, error: `refused: ${host} is not a public address`, body: null }),
      );
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Bosun-Webhooks/1',
      ...signHeaders(msgId, body, secrets),
    };
    const request = (secure ? https : http).request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        // Connections are kept alive per process; a new one resolves (and is checked) again.
        ...(opts.allowPrivate ? {} : { lookup: publicOnlyLookup }),
        agent: secure ? HTTPS_AGENT : HTTP_AGENT,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < BODY_LIMIT) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8').slice(0, BODY_LIMIT);
          resolve(
            done({
              status: res.statusCode ?? null,
              excerpt: text.slice(0, EXCERPT_CHARS),
              error: null,
              body: text,
            }),
          );
        });
        res.on('error', (err) => finish(err.message));
      },
    );
    let settled = false;
    const finish = (error: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(done({ status: null, excerpt: null, error, body: null }));
    };
    const timer = setTimeout(() => finish(`timeout after ${opts.timeoutMs} ms`), opts.timeoutMs);
    request.on('error', (err) => finish(err.message));
    request.end(body);
  });
}

/** An IP literal must be public; a name is judged after resolution. */
function isPublicLiteralOrName(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':') ? isPublicAddress(host) : true;
}
