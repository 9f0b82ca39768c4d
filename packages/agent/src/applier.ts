import { randomBytes } from 'node:crypto';
import { copyFile, lstat, readdir, readFile, realpath, rm, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { filepathProblem } from '@bosun/core';
import {
  fileMode,
  fsyncDir,
  fsyncFile,
  isNotFound,
  mkdirDurably,
  readJson,
  replaceFileAtomically,
  sha256Digest,
  tempPathFor,
  writeJsonAtomically,
} from './fsutil.ts';

/**
 * The file-system transaction of one apply, crash-safe through a journal in the state dir.
 *
 * 1. prepare: `journal/<tx>/` gets a durable copy of every file the apply replaces or deletes, then
 *    `journal.json` (atomic) listing each target, whether it existed, its backup and its new digest.
 *    Nothing outside the state dir is touched before `journal.json` is on disk.
 * 2. each write goes to a temp file in the target's directory, is fsynced, renamed over the target,
 *    and the directory is fsynced; each delete is an unlink plus directory fsync.
 * 3. commit: the ledger (`deployed.json`: which deployment put which digest at which path) is
 *    replaced atomically with the edited ledger naming this transaction. That rename is the single
 *    point of truth; then the transaction directory is removed.
 *
 * Recovery on start: a transaction without `journal.json` touched nothing and is discarded; one the
 * ledger does not name is ROLLED BACK (every backup restored, every file that did not exist deleted);
 * one the ledger names was committed and only its journal is removed. Rolling back is chosen over
 * rolling forward because it is always possible — the backups are durable before the first target is
 * touched, whereas the new content of a write interrupted before its rename exists nowhere on disk —
 * and the reconcile loop re-applies the deployment right after, since the ledger does not list it.
 * Every step of the rollback is itself atomic and idempotent, so a crash during recovery is recovered
 * by the next start. Directories created for new files are left in place (empty) by a rollback.
 */

export interface FileWrite {
  /** Absolute, normalised path on the device. */
  path: string;
  content: Uint8Array;
  /** `sha256:<hex>`, checked against `content` before anything is written. */
  digest: string;
}

/** Which digest each deployment put at each device path. */
export type Ledger = Record<string, Record<string, string>>;

export interface ApplyChange {
  writes: FileWrite[];
  /** Device paths to remove (a missing file is fine). */
  deletes: string[];
  /** Ledger edits made durable by the commit. */
  ledger: { set?: Ledger; remove?: string[] };
}

interface JournalEntry {
  path: string;
  action: 'write' | 'delete';
  existed: boolean;
  backup: string | null;
  mode: number | null;
  digest: string | null;
}

interface StoredLedger {
  deployments: Ledger;
  /** The last committed transaction. */
  tx: string | null;
}

interface Journal {
  tx: string;
  entries: JournalEntry[];
  ledger: ApplyChange['ledger'];
}

export class ApplyError extends Error {
  constructor(
    message: string,
    readonly path: string | null,
  ) {
    super(message);
  }
}

export type StepHook = (step: string) => Promise<void> | void;

export interface RecoveryResult {
  tx: string;
  outcome: 'discarded' | 'rolled_back' | 'completed';
}

export class FileApplier {
  readonly journalDir: string;
  readonly ledgerPath: string;
  private ledgerCache: StoredLedger | undefined;
  private rootReal: string | undefined;

  constructor(
    readonly stateDir: string,
    readonly fsRoot: string = '/',
    /** Called between durable steps; the crash test kills the process here. */
    private readonly onStep?: StepHook,
  ) {
    this.journalDir = join(stateDir, 'journal');
    this.ledgerPath = join(stateDir, 'deployed.json');
  }

  /** The device path as a real path under `fsRoot`, or an ApplyError saying why it is refused. */
  resolve(path: string): string {
    const problem = filepathProblem(path);
    if (problem) throw new ApplyError(`filepath '${path}' ${problem}`, path);
    return join(this.fsRoot, path);
  }

  /**
   * `resolve`, and with a root other than `/` also a check that no symbolic link on the way (a
   * directory of the path, or the file itself) leads outside the root: the agent must never write,
   * back up or delete a file outside the tree it was given. Each existing component is lstat'ed; the
   * deepest one that exists is resolved with realpath and must stay under the root's own realpath.
   * The root itself may not exist yet: the first apply creates it, as it creates any directory.
   * With the default root `/` every path is inside, so links are followed as the system does.
   */
  async resolveInside(path: string): Promise<string> {
    const real = this.resolve(path);
    if (this.fsRoot === '/') return real;
    let existing = this.fsRoot;
    let link: string | undefined;
    for (const part of path.split('/').filter(Boolean)) {
      const next = join(existing, part);
      try {
        if ((await lstat(next)).isSymbolicLink()) link ??= next;
      } catch (err) {
        if (isNotFound(err)) break;
        throw asApplyError(err, path, 'inspect');
      }
      existing = next;
    }
    if (link === undefined) return real;
    // Only now: a root that does not exist yet (the first apply creates it) has no links below it.
    this.rootReal ??= await realpath(this.fsRoot);
    let target: string;
    try {
      target = await realpath(existing);
    } catch (err) {
      // A dangling link: where it points does not exist yet, so a write would create it there.
      if (!isNotFound(err)) throw asApplyError(err, path, 'inspect');
      throw escapes(path, `/${relative(this.fsRoot, link)}`);
    }
    const rel = relative(this.rootReal, target);
    if (rel === '..' || rel.startsWith(`..${sep}`)) throw escapes(path, `/${relative(this.fsRoot, link)}`);
    return real;
  }

  async ledger(): Promise<Ledger> {
    return structuredClone((await this.stored()).deployments);
  }

  private async stored(): Promise<StoredLedger> {
    this.ledgerCache ??= (await readJson<StoredLedger>(this.ledgerPath)) ?? { deployments: {}, tx: null };
    return this.ledgerCache;
  }

  /** Rolls back or finishes whatever a crash interrupted. Call once before the first apply. */
  async recover(): Promise<RecoveryResult[]> {
    await mkdirDurably(this.journalDir);
    const results: RecoveryResult[] = [];
    for (const tx of (await readdir(this.journalDir)).sort()) {
      const dir = join(this.journalDir, tx);
      const journal = await readJson<Journal>(join(dir, 'journal.json'));
      if (!journal) {
        await this.discard(dir);
        results.push({ tx, outcome: 'discarded' });
      } else if ((await this.stored()).tx === journal.tx) {
        await this.discard(dir);
        results.push({ tx, outcome: 'completed' });
      } else {
        await this.rollback(journal);
        results.push({ tx, outcome: 'rolled_back' });
      }
    }
    return results;
  }

  /** Applies `change` all-or-nothing; on any failure every file already touched is restored. */
  async apply(change: ApplyChange): Promise<void> {
    const seen = new Set<string>();
    for (const w of change.writes) {
      this.resolve(w.path);
      if (seen.has(w.path))
        throw new ApplyError(`filepath '${w.path}' appears twice in one deployment`, w.path);
      seen.add(w.path);
      const actual = sha256Digest(w.content);
      if (actual !== w.digest)
        throw new ApplyError(`content for ${w.path} has digest ${actual}, expected ${w.digest}`, w.path);
    }
    const deletes = change.deletes.filter((p) => !seen.has(p));
    for (const p of deletes) this.resolve(p);

    // A rollback that failed earlier (e.g. I/O error) left its journal: finish it before going on.
    if ((await readdir(this.journalDir).catch(() => [])).length > 0) await this.recover();
    const tx = `${Date.now().toString(36).padStart(10, '0')}-${randomBytes(4).toString('hex')}`;
    const journal = await this.prepare(tx, change.writes, deletes, change.ledger);
    try {
      for (const w of change.writes) {
        const entry = journal.entries.find((e) => e.path === w.path)!;
        const real = await this.resolveInside(w.path);
        await this.step(`write ${w.path}`);
        await mkdirDurably(dirname(real)).catch((err) => {
          throw asApplyError(err, w.path, 'create the directory for');
        });
        await replaceFileAtomically(real, w.content, {
          tmpSuffix: tx,
          ...(entry.mode !== null ? { mode: entry.mode } : {}),
        }).catch((err) => {
          throw asApplyError(err, w.path, 'write');
        });
      }
      for (const path of deletes) {
        await this.step(`delete ${path}`);
        await removeFile(await this.resolveInside(path)).catch((err) => {
          throw asApplyError(err, path, 'remove');
        });
      }
      await this.step('commit');
      await this.commit(journal);
    } catch (err) {
      // A failure after the ledger's rename (in its directory fsync) leaves the transaction committed.
      this.ledgerCache = undefined;
      if ((await this.stored()).tx !== tx) {
        await this.rollback(journal);
        throw err;
      }
    }
    await this.step('committed');
    await this.discard(join(this.journalDir, tx));
  }

  private async step(name: string): Promise<void> {
    if (this.onStep) await this.onStep(name);
  }

  private async prepare(
    tx: string,
    writes: FileWrite[],
    deletes: string[],
    ledger: ApplyChange['ledger'],
  ): Promise<Journal> {
    const dir = join(this.journalDir, tx);
    await mkdirDurably(dir);
    const entries: JournalEntry[] = [];
    const targets = [
      ...writes.map((w) => ({ path: w.path, action: 'write' as const, digest: w.digest })),
      ...deletes.map((path) => ({ path, action: 'delete' as const, digest: null })),
    ];
    try {
      for (const [i, t] of targets.entries()) {
        await this.step(`backup ${t.path}`);
        const real = await this.resolveInside(t.path);
        const mode = await fileMode(real);
        let backup: string | null = null;
        if (mode !== null) {
          backup = `backup-${i}`;
          await copyFile(real, join(dir, backup)).catch((err) => {
            throw asApplyError(err, t.path, 'back up');
          });
          await fsyncFile(join(dir, backup));
        }
        entries.push({
          path: t.path,
          action: t.action,
          existed: mode !== null,
          backup,
          mode,
          digest: t.digest,
        });
      }
      const journal: Journal = { tx, entries, ledger };
      await this.step('journal');
      await writeJsonAtomically(join(dir, 'journal.json'), journal);
      return journal;
    } catch (err) {
      await this.discard(dir);
      throw err;
    }
  }

  /** Puts every target back as it was before the transaction, then drops the journal. */
  private async rollback(journal: Journal): Promise<void> {
    const dir = join(this.journalDir, journal.tx);
    for (const entry of [...journal.entries].reverse()) {
      // A link that appeared since the apply is not followed out of the root, even to roll back.
      const real = await this.resolveInside(entry.path).catch(() => undefined);
      if (real === undefined) continue;
      await rm(tempPathFor(real, journal.tx), { force: true }).catch(() => {});
      if (entry.existed && entry.backup) {
        const content = await readFile(join(dir, entry.backup));
        await replaceFileAtomically(real, content, {
          tmpSuffix: `${journal.tx}-rb`,
          mode: entry.mode ?? 0o644,
        });
      } else {
        await removeFile(real);
      }
    }
    await this.discard(dir);
  }

  private async commit(journal: Journal): Promise<void> {
    const ledger = await this.ledger();
    for (const id of journal.ledger.remove ?? []) delete ledger[id];
    Object.assign(ledger, journal.ledger.set ?? {});
    const next: StoredLedger = { deployments: ledger, tx: journal.tx };
    await writeJsonAtomically(this.ledgerPath, next);
    this.ledgerCache = next;
  }

  /**
   * No fsync: if a power cut brings the directory back, recovery finds it again and its outcome is the
   * same (a committed journal is dropped, an uncommitted one rolled back again, which is idempotent).
   */
  private async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }
}

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await fsyncDir(dirname(path));
}

function escapes(path: string, link: string): ApplyError {
  return new ApplyError(
    `filepath '${path}' leads outside the agent's file-system root through the symbolic link '${link}'; refused`,
    path,
  );
}

function asApplyError(err: unknown, path: string, verb: string): ApplyError {
  if (err instanceof ApplyError) return err;
  const e = err as NodeJS.ErrnoException;
  const hint =
    e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS'
      ? ' (the agent needs write and execute permission on the directory)'
      : '';
  // The system message names the real (fs-root prefixed) path; keep only "CODE: description".
  const reason = e.code ? (e.message.split(',')[0] ?? e.code) : String(err);
  return new ApplyError(`cannot ${verb} ${path}: ${reason}${hint}`, path);
}
