import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BosunError } from '@bosun/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PACKAGE_DIR } from '../paths.ts';
import { renderInstallScript, safeServerUrl } from './install-script.ts';

export interface DownloadsOptions {
  /** Directory of the agent artifacts (`npm run build:agent` writes packages/agent/artifacts). */
  artifactsDir: string;
  /** The URL robots reach this server at (`BOSUN_PUBLIC_URL`); default: the request's own host. */
  publicUrl?: string | undefined;
}

/** The repository's build output (packages/agent/artifacts). */
export const DEFAULT_ARTIFACTS_DIR = join(PACKAGE_DIR, '..', 'agent', 'artifacts');

/** 1 MiB reads: a 110 MB executable in ~100 chunks instead of ~1700 (64 KiB default). */
const DOWNLOAD_CHUNK = 1 << 20;

/** Names only (no path separators, no dot files): a request can never leave the artifacts dir. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

function contentType(name: string): string {
  if (name.endsWith('.deb')) return 'application/vnd.debian.binary-package';
  if (name.endsWith('.cjs') || name.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (name === 'SHA256SUMS' || name.endsWith('.service') || name.endsWith('.txt'))
    return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

const missing = (file: string) =>
  new BosunError(404, 'download_not_found', `No file '${file}' is available for download on this server.`, {
    file,
  });

/**
 * Public routes (no API key: a robot being enrolled has none; the activation token is the secret):
 * the agent artifacts and the install script rendered with this server's URL.
 */
export async function downloadRoutes(app: FastifyInstance, opts: DownloadsOptions): Promise<void> {
  app.get<{ Params: { file: string } }>(
    '/downloads/:file',
    { config: { public: true } },
    async (request, reply) => {
      const { file } = request.params;
      if (!FILE_NAME.test(file)) throw missing(file);
      const path = join(opts.artifactsDir, file);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw missing(file);
      return reply
        .header('content-type', contentType(file))
        .header('content-length', info.size)
        .header('cache-control', 'no-cache')
        .send(createReadStream(path, { highWaterMark: DOWNLOAD_CHUNK }));
    },
  );

  app.get('/install.sh', { config: { public: true } }, async (request, reply) => {
    const url = serverUrlFor(request, opts.publicUrl);
    return reply
      .header('content-type', 'text/x-shellscript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(renderInstallScript(url));
  });
}

function serverUrlFor(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  // The Host header is the client's to choose: it goes into a shell script, so only a plain host:port.
  const url = safeServerUrl(`${request.protocol}://${request.host}`);
  if (!url || !/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(url)) {
    throw new BosunError(
      400,
      'invalid_host',
      'The Host header is not a valid host name; set BOSUN_PUBLIC_URL.',
      {
        header: 'Host',
      },
    );
  }
  return url;
}
