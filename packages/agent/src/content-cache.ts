import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplyError } from './applier.ts';
import { replaceFileAtomically, sha256Digest } from './fsutil.ts';

/**
 * Config contents by digest under `<state>/contents/`: read locally when present (works offline),
 * else downloaded; every read is checked against the digest, so the cache needs no fsync and a
 * corrupted entry is simply fetched again.
 */
export class ContentCache {
  private readonly dir: string;

  constructor(
    stateDir: string,
    private readonly download: (instanceId: string) => Promise<Uint8Array>,
  ) {
    this.dir = join(stateDir, 'contents');
  }

  /** The verified local copy of `digest`, or undefined. */
  async local(digest: string): Promise<Uint8Array | undefined> {
    try {
      const bytes = await readFile(this.path(digest));
      if (sha256Digest(bytes) === digest) return bytes;
    } catch {}
    return undefined;
  }

  /** The content of a config instance: local copy, else downloaded and verified (ApplyError on mismatch). */
  async get(instanceId: string, digest: string): Promise<Uint8Array> {
    const cached = await this.local(digest);
    if (cached) return cached;
    const bytes = await this.download(instanceId);
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      throw new ApplyError(
        `content of config instance ${instanceId} has digest ${actual}, expected ${digest}`,
        null,
      );
    }
    await mkdir(this.dir, { recursive: true });
    await replaceFileAtomically(this.path(digest), bytes, { mode: 0o600, durable: false });
    return bytes;
  }

  /** Deletes every cached content whose digest is not in `used`. */
  async prune(used: ReadonlySet<string>): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!used.has(`sha256:${name}`)) await rm(join(this.dir, name), { force: true });
    }
  }

  private path(digest: string): string {
    return join(this.dir, digest.replace(/^sha256:/, ''));
  }
}
