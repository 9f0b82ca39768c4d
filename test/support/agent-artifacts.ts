import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The built agent artifacts (packages/agent/artifacts, `npm run build:agent`). Tests that need them
 * build what is missing, so a fresh clone passes; .ci/run builds them once up front. One build at a
 * time: only the install suite calls this.
 */
export const artifactsDir = join(import.meta.dirname, '..', '..', 'packages', 'agent', 'artifacts');
const script = join(import.meta.dirname, '..', '..', 'packages', 'agent', 'scripts', 'build-artifacts.ts');

export const artifact = {
  bundle: join(artifactsDir, 'bosun-agent.cjs'),
  x64: join(artifactsDir, 'bosun-agent-linux-x64'),
  arm64: join(artifactsDir, 'bosun-agent-linux-arm64'),
  debAmd64: join(artifactsDir, 'bosun-agent_amd64.deb'),
  debArm64: join(artifactsDir, 'bosun-agent_arm64.deb'),
  sums: join(artifactsDir, 'SHA256SUMS'),
};

export function ensureAgentArtifacts(): void {
  const needed = [artifact.bundle, artifact.x64, artifact.arm64, artifact.sums];
  if (hasCommand('dpkg-deb')) needed.push(artifact.debAmd64, artifact.debArm64);
  if (needed.every((p) => existsSync(p))) return;
  execFileSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
