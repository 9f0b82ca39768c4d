import type { Rollout } from '@bosun/sdk';

/** Devices in the rollout: every wave's count (targets, whatever their state). */
export const rolloutDevices = (r: Rollout) => r.waves.reduce((n, w) => n + w.devices, 0);

/** "2 of 3 deployed · 1 failed" with a progress bar; the text carries the meaning, the bar repeats it. */
export function RolloutProgress({ rollout }: { rollout: Rollout }) {
  const total = rolloutDevices(rollout);
  const c = rollout.counts as Record<string, number>;
  const deployed = c.deployed ?? 0;
  const failed = c.failed ?? 0;
  const text = `${deployed} of ${total} deployed${failed ? ` · ${failed} failed` : ''}`;
  return (
    <span className="progress">
      <progress value={deployed} max={Math.max(total, 1)} aria-label={`Progress: ${text}`} />
      <span>{text}</span>
    </span>
  );
}

/** "1, 10%, rest" → wave specs; the last wave takes every device left whatever it says. */
export function parseWaves(text: string): { devices?: number; percent?: number }[] | undefined {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) return undefined;
  return parts.map((p) => {
    if (p === 'rest') return { percent: 100 };
    let m = /^(\d+(?:\.\d+)?)\s*%$/.exec(p);
    if (m) return { percent: Number(m[1]) };
    m = /^(\d+)$/.exec(p);
    if (m) return { devices: Number(m[1]) };
    throw new Error(`Wave '${p}' is neither a device count (3) nor a percentage (10%).`);
  });
}
