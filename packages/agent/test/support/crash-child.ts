/**
 * Child process of the crash test: recovers, then applies deployment k+1, k+2, … forever, each one
 * replacing the previous (writes its files, deletes the previous one's other files). With
 * CRASH_AT_STEP=n it SIGKILLs itself at the n-th durable step; otherwise the parent kills it.
 */
import { FileApplier } from '../../src/applier.ts';
import { sha256Digest } from '../../src/fsutil.ts';
import { contentOf, deploymentId, deploymentIndex, pathsOf } from './crash-content.ts';

const [stateDir, fsRoot] = process.argv.slice(2) as [string, string];
const crashAt = Number(process.env.CRASH_AT_STEP ?? 0);
let steps = 0;
const applier = new FileApplier(stateDir, fsRoot, () => {
  steps++;
  if (crashAt > 0 && steps === crashAt) process.kill(process.pid, 'SIGKILL');
});
await applier.recover();
const ledger = await applier.ledger();
const current = Object.keys(ledger)[0];
let k = current ? deploymentIndex(current) : 0;
process.stdout.write('ready\n');
while (true) {
  const next = k + 1;
  const paths = pathsOf(next);
  const writes = paths.map((path) => {
    const content = contentOf(next, path);
    return { path, content, digest: sha256Digest(content) };
  });
  const deletes = k > 0 ? pathsOf(k).filter((p) => !paths.includes(p)) : [];
  await applier.apply({
    writes,
    deletes,
    ledger: {
      set: { [deploymentId(next)]: Object.fromEntries(writes.map((w) => [w.path, w.digest])) },
      remove: k > 0 ? [deploymentId(k)] : [],
    },
  });
  k = next;
}
