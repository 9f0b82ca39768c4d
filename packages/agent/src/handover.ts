import { fileDigest } from './fsutil.ts';

/**
 * A deployment whose files are already on disk, put there by deployments in the ledger (a rollback
 * restoring the set of the deployment it replaced, a redeploy of the current set): it is taken over
 * without writing anything (docs/decisions.md #21).
 */

type Files = Record<string, string>;

/**
 * True when every file of `want` is recorded in the ledger with the same digest and the file on
 * disk still has it (a drifted file is written as usual).
 */
export async function filesInPlace(
  want: Files,
  ledger: Record<string, Files>,
  resolve: (path: string) => string,
): Promise<boolean> {
  const paths = Object.keys(want);
  if (paths.length === 0) return false;
  const recorded = new Map<string, string>();
  for (const files of Object.values(ledger))
    for (const [path, digest] of Object.entries(files)) recorded.set(`${path}\0${digest}`, path);
  for (const path of paths) {
    if (!recorded.has(`${path}\0${want[path]}`)) return false;
    if ((await fileDigest(resolve(path))) !== want[path]) return false;
  }
  return true;
}

/**
 * True when a replaced deployment's files all stay in place, unchanged, under its replacement: no
 * file of it is removed, so the Device API does not announce it removed.
 */
export function keptWhole(files: Files, want: Files): boolean {
  const paths = Object.keys(files);
  return paths.length > 0 && paths.every((p) => want[p] === files[p]);
}
