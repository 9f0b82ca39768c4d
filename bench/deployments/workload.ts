import type { DeploymentWorld } from '../../packages/server/test/support-deployments.ts';

export type World = DeploymentWorld & { devices: string[] };

/**
 * The create requests of the throughput runs, the same for the HTTP runs and the raw-SQL ceiling:
 * client `conn` owns devices conn, conn + clients, … (so clients never wait on each other's device
 * lock by construction, only on the engine), every device already has a current v1 deployment;
 * `staged` cycles through v2 and the extra releases, so from the second round on every create
 * replaces the device's staged deployment of that release (an archive effect and its event);
 * `deployed` creates v1 again, which archives the current one (and drifts what is staged).
 */
export function createBody(
  w: World,
  clients: number,
  conn: number,
  i: number,
  target: 'staged' | 'deployed',
) {
  const perClient = Math.floor(w.devices.length / clients);
  const device = w.devices[conn + clients * (i % perClient)]!;
  if (target === 'deployed')
    return {
      target_status: 'deployed' as const,
      description: `bench ${conn}/${i}`,
      release_id: w.v1,
      device_id: device,
      config_instance_ids: [w.I1, w.I2],
    };
  const staged = [w.v2, ...w.extraReleases];
  return {
    target_status: 'staged' as const,
    description: `bench ${conn}/${i}`,
    release_id: staged[Math.floor(i / perClient) % staged.length]!,
    device_id: device,
    config_instance_ids: [w.I3, w.I2],
  };
}
