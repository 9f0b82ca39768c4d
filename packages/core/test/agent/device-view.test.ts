import { describe, expect, it } from 'vitest';
import { onDeviceState } from '../../src/agent/device-view.ts';

describe('onDeviceState (the Device API view of a deployment)', () => {
  it('an archived deployment whose files the agent removed reads archived, not the stale deployed copy', () => {
    expect(
      onDeviceState({
        server: { target: 'archived', activity: 'deployed', error: 'none' },
        filesOnDisk: false,
      }),
    ).toEqual({ activity: 'archived', error: 'none', status: 'archived' });
  });
  it('files on disk read deployed, even while the server still shows them leaving', () => {
    expect(
      onDeviceState({
        server: { target: 'archived', activity: 'deployed', error: 'none' },
        filesOnDisk: true,
      }),
    ).toEqual({ activity: 'deployed', error: 'none', status: 'deployed' });
  });
  it("the agent's retry state wins over the copy's error", () => {
    expect(
      onDeviceState({
        server: { target: 'deployed', activity: 'queued', error: 'none' },
        filesOnDisk: false,
        agentError: 'retrying',
      }),
    ).toEqual({ activity: 'queued', error: 'retrying', status: 'retrying' });
  });
  it('a deployed copy without files on disk is queued (not written here yet)', () => {
    expect(
      onDeviceState({
        server: { target: 'deployed', activity: 'deployed', error: 'none' },
        filesOnDisk: false,
      }),
    ).toEqual({ activity: 'queued', error: 'none', status: 'queued' });
  });
  it('staged and drifted deployments show as the server has them; a failed one stays failed', () => {
    expect(
      onDeviceState({ server: { target: 'staged', activity: 'drifted', error: 'none' }, filesOnDisk: false })
        .status,
    ).toBe('drifted');
    expect(
      onDeviceState({
        server: { target: 'archived', activity: 'queued', error: 'failed' },
        filesOnDisk: false,
      }),
    ).toEqual({ activity: 'archived', error: 'failed', status: 'failed' });
  });
});
