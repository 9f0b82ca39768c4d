/**
 * Drift on the robot: a deployed file whose bytes no longer match what the agent wrote. The digest
 * format is the protocol's `sha256:<hex>`.
 */

export type DriftKind = 'changed' | 'missing';

export interface FileDrift {
  path: string;
  change: DriftKind;
}

export type DriftMode = 'report' | 'restore';

/**
 * Compares what was deployed (`path → digest`) with what is on disk now (`path → digest`, or null
 * when the file is gone). Paths come out sorted so reports are stable.
 */
export function findDrift(
  deployed: Readonly<Record<string, string>>,
  onDisk: Readonly<Record<string, string | null>>,
): FileDrift[] {
  const drift: FileDrift[] = [];
  for (const path of Object.keys(deployed).sort()) {
    const actual = onDisk[path];
    if (actual === null || actual === undefined) drift.push({ path, change: 'missing' });
    else if (actual !== deployed[path]) drift.push({ path, change: 'changed' });
  }
  return drift;
}

/** The human message sent with the drift report. */
export function driftMessage(drift: readonly FileDrift[], mode: DriftMode): string {
  const parts = drift.map((d) => `${d.path} ${d.change === 'missing' ? 'is missing' : 'was changed'}`);
  return `Drift on the device: ${parts.join('; ')}${mode === 'restore' ? '; restored the deployed content' : '; left as is (report-only mode)'}.`;
}
