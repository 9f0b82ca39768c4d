import { createHash } from 'node:crypto';

/** Deterministic deployments for the crash test: deployment k owns a k-dependent subset of PATHS. */
export const PATHS = [
  '/etc/robot/mobility.json',
  '/etc/robot/perception.yaml',
  '/srv/bosun/configs/arm.json',
  '/srv/bosun/configs/nested/deep/lidar.json',
  '/opt/fleet/safety.json',
];

export function pathsOf(k: number): string[] {
  return PATHS.filter((_, j) => (k + j) % 3 !== 0);
}

/** Large enough (64–192 KiB) that a kill often lands in the middle of a write. */
export function contentOf(k: number, path: string): Buffer {
  const head = `{"deployment":${k},"path":${JSON.stringify(path)},"filler":"`;
  const size = 64 * 1024 * (1 + (k % 3));
  const filler = createHash('sha256')
    .update(`${k}${path}`)
    .digest('hex')
    .repeat(Math.ceil(size / 64))
    .slice(0, size);
  return Buffer.from(`${head}${filler}"}\n`);
}

export const deploymentId = (k: number) => `dpl_crash${String(k).padStart(6, '0')}`;
export const deploymentIndex = (id: string) => Number(id.slice('dpl_crash'.length));
