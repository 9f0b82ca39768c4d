import { FileApplier } from '../applier.ts';
import { DeploymentCatalog } from '../catalog.ts';
import { readDevice } from '../identity.ts';
import { currentOf } from '../local-api/agent-source.ts';
import { getJson } from '../local-api/client.ts';
import { DEVICE_API_VERSION } from '../local-api/server.ts';
import type { LocalDevice } from '../local-api/source.ts';
import { AgentStore } from '../store.ts';

export interface AgentStatus {
  state_dir: string;
  provisioned: boolean;
  device: { id: string; name: string; activated_at: string } | null;
  server_url: string | null;
  /** What the ledger says is on disk (the deployment whose files are live), from the state dir. */
  current_deployment: { id: string; release_version: string | null; files: number } | null;
  outbox_length: number;
  /** The running agent, when its Device API socket answers. */
  running: { socket: string; status: LocalDevice['status']; last_synced_at: string } | null;
}

/**
 * Reads everything from the state dir (works while the agent is stopped, offline, or without
 * permission on the socket), then asks the running agent for its link status if its socket answers.
 */
export async function readAgentStatus(stateDir: string, socketPath: string): Promise<AgentStatus> {
  const device = await readDevice(stateDir);
  const store = new AgentStore(stateDir);
  const catalog = new DeploymentCatalog(stateDir);
  await Promise.all([store.load(), catalog.load()]);
  const ledger = await new FileApplier(stateDir).ledger();
  const onDisk = Object.keys(ledger);
  const known = currentOf(onDisk.flatMap((id) => catalog.get(id) ?? []));
  // A ledger entry the catalog lost (it is a cache) still names the live deployment.
  const currentId = known?.id ?? onDisk[0];
  return {
    state_dir: stateDir,
    provisioned: device !== undefined,
    device: device ? { id: device.device_id, name: device.name, activated_at: device.activated_at } : null,
    server_url: device?.server_url ?? null,
    current_deployment: currentId
      ? {
          id: currentId,
          release_version: known?.release_version ?? null,
          files: Object.keys(ledger[currentId] ?? {}).length,
        }
      : null,
    outbox_length: store.outbox.length,
    running: await askRunningAgent(socketPath),
  };
}

async function askRunningAgent(socketPath: string): Promise<AgentStatus['running']> {
  try {
    const d = await withTimeout(getJson<LocalDevice>(socketPath, `/${DEVICE_API_VERSION}/device`), 2_000);
    return d ? { socket: socketPath, status: d.status, last_synced_at: d.last_synced_at } : null;
  } catch {
    return null;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function formatAgentStatus(s: AgentStatus): string {
  const lines: [string, string][] = [['state dir', s.state_dir]];
  if (!s.device) {
    lines.push(['device', 'not provisioned (run: bosun-agent provision --server URL --token bsn_act_...)']);
  } else {
    lines.push(['device', `${s.device.name} (${s.device.id}), activated ${s.device.activated_at}`]);
    lines.push(['server', s.server_url ?? '-']);
  }
  const d = s.current_deployment;
  lines.push([
    'deployment',
    d ? `${d.id}${d.release_version ? ` (release ${d.release_version})` : ''}, ${d.files} file(s)` : 'none',
  ]);
  lines.push(['outbox', `${s.outbox_length} report(s) waiting to be sent`]);
  lines.push([
    'agent',
    s.running
      ? `running, ${s.running.status}, last synced ${s.running.last_synced_at} (${s.running.socket})`
      : 'not answering on its socket (stopped, or no permission)',
  ]);
  return `${lines.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`).join('\n')}\n`;
}
