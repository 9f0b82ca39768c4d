import { describe, expect, it } from 'vitest';
import {
  type AgentReport,
  ALL_STATES,
  agentAction,
  applyAgentReport,
  type BosunError,
  type DeploymentState,
  isForward,
} from '../src/index.ts';

const key = (s: DeploymentState) => `${s.target}/${s.activity}/${s.error}`;
const REPORTS: Record<string, AgentReport> = {
  deployed: { activity_status: 'deployed' },
  archived: { activity_status: 'archived' },
  retrying: { error_status: 'retrying', message: 'network unreachable', attempts: 2 },
  none: { error_status: 'none' },
  failed: { error_status: 'failed', message: 'disk full', attempts: 3 },
  'deployed+failed': { activity_status: 'deployed', error_status: 'failed' },
  'archived+retrying': { activity_status: 'archived', error_status: 'retrying' },
};

// The accepted reports, per state the agent can see (queued or deployed, not failed). Everything not
// listed is refused, except the no-ops listed below.
const FAILED = 'archived/archived/failed';
const ACCEPTED: Record<string, Record<string, string>> = {
  'deployed/queued/none': {
    deployed: 'deployed/deployed/none',
    retrying: 'deployed/queued/retrying',
    none: 'noop',
    failed: FAILED,
  },
  'deployed/queued/retrying': {
    deployed: 'deployed/deployed/none',
    retrying: 'deployed/queued/retrying',
    none: 'deployed/queued/none',
    failed: FAILED,
  },
  'deployed/deployed/none': {
    deployed: 'noop',
    retrying: 'deployed/deployed/retrying',
    none: 'noop',
    failed: FAILED,
  },
  'deployed/deployed/retrying': {
    deployed: 'deployed/deployed/none',
    retrying: 'deployed/deployed/retrying',
    none: 'deployed/deployed/none',
    failed: FAILED,
  },
  'archived/queued/none': {
    deployed: 'archived/deployed/none',
    archived: 'archived/archived/none',
    retrying: 'archived/queued/retrying',
    none: 'noop',
    failed: FAILED,
  },
  'archived/queued/retrying': {
    deployed: 'archived/deployed/none',
    archived: 'archived/archived/none',
    retrying: 'archived/queued/retrying',
    none: 'archived/queued/none',
    failed: FAILED,
  },
  'archived/deployed/none': {
    deployed: 'noop',
    archived: 'archived/archived/none',
    retrying: 'archived/deployed/retrying',
    none: 'noop',
    failed: FAILED,
  },
  'archived/deployed/retrying': {
    deployed: 'archived/deployed/none',
    archived: 'archived/archived/none',
    retrying: 'archived/deployed/retrying',
    none: 'archived/deployed/none',
    failed: FAILED,
  },
};
// A report that restates the current state is a no-op (the agent resends after a reconnect), except
// on a deployment never sent to the device (target staged), where any report is refused.
function restates(s: DeploymentState, name: string): boolean {
  if (s.target === 'staged') return false;
  switch (name) {
    case 'deployed':
      return s.activity === 'deployed' && s.error === 'none';
    case 'archived':
      return s.activity === 'archived' && s.error === 'none';
    case 'none':
      return s.error === 'none';
    case 'deployed+failed':
      return key(s) === 'archived/deployed/failed';
    case 'archived+retrying':
      return s.activity === 'archived' && s.error === 'retrying';
    default:
      return false; // these carry a new message and attempt count
  }
}

function apply(state: DeploymentState, report: AgentReport): string {
  try {
    const out = applyAgentReport({ state, error_message: null, attempts: 0 }, report);
    if (out.noop) return 'noop';
    expect(isForward(state, out.state)).toBe(true);
    return key(out.state);
  } catch (err) {
    const e = err as BosunError;
    expect(e.status).toBe(409);
    expect(e.code).toBe('invalid_transition');
    expect(e.message).toContain(
      `from target ${state.target}, activity ${state.activity}, error ${state.error}`,
    );
    return 'refused';
  }
}

describe('agent reports over every (target, activity, error) × report', () => {
  for (const s of ALL_STATES) {
    for (const [name, report] of Object.entries(REPORTS)) {
      const expected = ACCEPTED[key(s)]?.[name] ?? (restates(s, name) ? 'noop' : 'refused');
      it(`${key(s)} + ${name} → ${expected}`, () => {
        expect(apply(s, report)).toBe(expected);
      });
    }
  }
});

describe('report details', () => {
  const queued: DeploymentState = { target: 'deployed', activity: 'queued', error: 'none' };
  it('keeps the message and attempt count of a retry, and clears the message on success', () => {
    const retry = applyAgentReport({ state: queued, error_message: null, attempts: 0 }, REPORTS.retrying!);
    expect(retry).toMatchObject({ error_message: 'network unreachable', attempts: 2, noop: false });
    const again = applyAgentReport(retry, REPORTS.retrying!);
    expect(again.noop).toBe(true);
    const more = applyAgentReport(retry, { error_status: 'retrying', message: 'timeout', attempts: 3 });
    expect(more).toMatchObject({ error_message: 'timeout', attempts: 3, noop: false });
    const ok = applyAgentReport(more, { activity_status: 'deployed' });
    expect(ok).toMatchObject({
      state: { activity: 'deployed', error: 'none' },
      error_message: null,
      attempts: 3,
    });
  });
  it('a fatal report ends the deployment (target archived too), and the same report twice is a no-op', () => {
    const failed = applyAgentReport({ state: queued, error_message: null, attempts: 1 }, REPORTS.failed!);
    expect(failed).toMatchObject({
      state: { target: 'archived', activity: 'archived', error: 'failed' },
      error_message: 'disk full',
      attempts: 3,
      noop: false,
    });
    expect(applyAgentReport(failed, REPORTS.failed!).noop).toBe(true);
    expect(() => applyAgentReport(failed, REPORTS.deployed!)).toThrow(/failed deployment is final/);
  });
  it('refuses an empty report with 400', () => {
    expect(() => applyAgentReport({ state: queued, error_message: null, attempts: 0 }, {})).toThrow(
      /needs an activity_status/,
    );
  });
  it('explains a refusal', () => {
    expect(() =>
      applyAgentReport({ state: queued, error_message: null, attempts: 0 }, { activity_status: 'archived' }),
    ).toThrow(/only a deployment whose target is archived/);
  });
});

describe('agent decision table (docs/decisions.md #28)', () => {
  const TABLE = {
    staged: {
      staged: 'nothing',
      drifted: 'nothing',
      queued: 'archive',
      deployed: 'remove',
      archived: 'nothing',
    },
    deployed: {
      staged: 'nothing',
      drifted: 'nothing',
      queued: 'deploy',
      deployed: 'nothing',
      archived: 'deploy',
    },
    archived: {
      staged: 'archive',
      drifted: 'archive',
      queued: 'archive',
      deployed: 'remove',
      archived: 'nothing',
    },
  } as const;
  for (const s of ALL_STATES) {
    const expected = s.error === 'failed' ? 'nothing' : TABLE[s.target][s.activity];
    it(`${key(s)} → ${expected}`, () => {
      expect(agentAction(s)).toBe(expected);
    });
  }
});
