import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AgentReport,
  type AgentStep,
  ALL_STATES,
  agentAction,
  agentStep,
  applyAgentReport,
  type BosunError,
  type DeploymentState,
  type FilesOnDisk,
  isForward,
  onAgentAgenda,
  sameState,
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

/**
 * The decision table (docs/decisions.md #28) and the agent's step built on it, checked by what they
 * must achieve rather than by a copy of the table: over every state the agent can be shown and every
 * ledger fact, the step's report is one the server accepts, one step settles the deployment, the
 * current deployment's files are never removed, and a staged, failed or final deployment is never written.
 */
describe('agent decision table and step (properties, docs/decisions.md #28)', () => {
  const anyState = fc.constantFrom(...ALL_STATES);
  const agendaState = fc.constantFrom(...ALL_STATES.filter(onAgentAgenda));
  const disk = fc.constantFrom<FilesOnDisk>('absent', 'current', 'other');
  const afterFiles = (files: AgentStep['files'], before: FilesOnDisk): FilesOnDisk =>
    files === 'write' ? 'current' : files === 'remove' ? 'absent' : before;
  const send = (state: DeploymentState, report: AgentStep['report']) =>
    report === null
      ? state
      : applyAgentReport({ state, error_message: null, attempts: 0 }, { activity_status: report }).state;

  it('every step the agent takes on its agenda is accepted by the server and settles in one step', () => {
    fc.assert(
      fc.property(agendaState, disk, (state, files) => {
        const step = agentStep(state, files);
        // Throws 409 invalid_transition if the server refused the report.
        const next = send(state, step.report);
        expect(isForward(state, next) || sameState(state, next)).toBe(true);
        expect(agentStep(next, afterFiles(step.files, files))).toEqual({ files: 'keep', report: null });
      }),
    );
  });

  it('writes only deployments the server wants deployed; never removes the files of one', () => {
    fc.assert(
      fc.property(anyState, disk, (state, files) => {
        const step = agentStep(state, files);
        const wanted =
          state.target === 'deployed' &&
          state.error !== 'failed' &&
          state.activity !== 'staged' &&
          state.activity !== 'drifted';
        if (step.files === 'write') expect(wanted).toBe(true);
        if (wanted) expect(step.files).not.toBe('remove');
        if (wanted) expect(agentAction(state) === 'deploy' || step.report !== 'archived').toBe(true);
      }),
    );
  });

  it('a failed or staging-area deployment gets no report; only a superseded one is reported archived', () => {
    fc.assert(
      fc.property(anyState, disk, (state, files) => {
        const { report } = agentStep(state, files);
        if (state.error === 'failed') expect(agentAction(state)).toBe('nothing');
        if (
          state.error === 'failed' ||
          (state.target === 'staged' && state.activity !== 'queued' && state.activity !== 'deployed')
        )
          expect(report).toBeNull();
        if (report === 'archived') expect(state.target).not.toBe('deployed');
        if (report === 'deployed') expect(state.target).toBe('deployed');
      }),
    );
  });

  it('is settled exactly when the files match and the server already knows', () => {
    fc.assert(
      fc.property(agendaState, disk, (state, files) => {
        const settled = agentStep(state, files).files === 'keep' && agentStep(state, files).report === null;
        const wanted = state.target === 'deployed';
        expect(settled).toBe(wanted ? files === 'current' && state.activity === 'deployed' : false);
      }),
    );
  });
});
