import { join } from 'node:path';
import type { AgentDeployment } from './client.ts';
import { readJson, writeJsonAtomically } from './fsutil.ts';

/** How many deployments the catalog remembers beyond those whose files are on disk. */
const CAPACITY = 100;

/**
 * Every deployment the agent has been told about, kept on disk so the on-robot Device API can
 * describe the current deployment, its release and commit while the server is unreachable, even
 * after a restart. A cache: losing it costs a server round trip, never correctness, so writes are
 * atomic but not fsynced.
 */
export class DeploymentCatalog {
  private entries = new Map<string, AgentDeployment>();
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'catalog.json');
  }

  async load(): Promise<void> {
    const stored = await readJson<AgentDeployment[]>(this.path);
    this.entries = new Map((stored ?? []).map((d) => [d.id, d]));
  }

  get(id: string): AgentDeployment | undefined {
    return this.entries.get(id);
  }

  all(): AgentDeployment[] {
    return [...this.entries.values()];
  }

  /** Records what the server said; `keep` are ids that must survive eviction (files on disk). */
  async remember(deployments: readonly AgentDeployment[], keep: ReadonlySet<string>): Promise<void> {
    let changed = false;
    for (const d of deployments) {
      if (JSON.stringify(this.entries.get(d.id)) === JSON.stringify(d)) continue;
      this.entries.delete(d.id); // re-insert: Map order is recency
      this.entries.set(d.id, d);
      changed = true;
    }
    for (const id of this.entries.keys()) {
      if (this.entries.size <= CAPACITY) break;
      if (!keep.has(id)) {
        this.entries.delete(id);
        changed = true;
      }
    }
    if (changed) await writeJsonAtomically(this.path, this.all(), 0o600, false);
  }
}
