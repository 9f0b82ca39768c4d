import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Flushes a directory entry (a create, rename or unlink) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` and fsyncs it (the file is created with `mode` if new). */
export async function writeDurably(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const handle = await open(path, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` atomically: temp file in the same directory, fsync, rename, fsync the directory.
 * A reader (or a crash) sees the complete old or the complete new file, never a torn one.
 */
export async function replaceFileAtomically(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number; tmpSuffix?: string; durable?: boolean } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = tempPathFor(path, opts.tmpSuffix ?? `${process.pid}`);
  const durable = opts.durable ?? true;
  try {
    if (durable) await writeDurably(tmp, data, opts.mode ?? 0o644);
    else await writeFile(tmp, data, { mode: opts.mode ?? 0o644 });
    if (opts.mode !== undefined) {
      // open() applies the umask; an existing file's mode is restored exactly.
      await chmod(tmp, opts.mode);
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  if (durable) await fsyncDir(dir);
}

export function tempPathFor(path: string, suffix: string): string {
  const dir = dirname(path);
  const base = path.slice(dir.length + 1);
  return join(dir, `.${base}.bosun-${suffix}.tmp`);
}

/** `durable: false` still never leaves a torn file, but a power cut may bring back the previous one. */
export async function writeJsonAtomically(
  path: string,
  value: unknown,
  mode = 0o600,
  durable = true,
): Promise<void> {
  await replaceFileAtomically(path, `${JSON.stringify(value, null, 2)}\n`, { mode, durable });
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Creates `dir` and any missing parents, fsyncing each new entry so the path survives a crash. */
export async function mkdirDurably(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  // Every directory from `first` down to `dir` is new: its entry lives in its parent.
  let current = dir;
  while (true) {
    await fsyncDir(dirname(current));
    if (current === first) break;
    current = dirname(current);
  }
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The digest of a file's bytes, or null when there is no such file. */
export async function fileDigest(path: string): Promise<string | null> {
  try {
    return sha256Digest(await readFile(path));
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw err;
  }
}

export async function fileMode(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
