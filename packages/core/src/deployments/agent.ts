import { badRequest, conflict } from '../errors.ts';
import {
  type DeploymentActivityStatus,
  type DeploymentErrorStatus,
  type DeploymentState,
  type DeploymentTargetStatus,
  describeState,
  sameState,
} from './status.ts';

/**
 * The agent-driven half of the lifecycle (docs/decisions.md #25, #28): which reports the server accepts
 * from which state, and what the agent should do with a deployment it sees.
 */

export interface AgentReport {
  activity_status?: 'deployed' | 'archived' | undefined;
  error_status?: DeploymentErrorStatus | undefined;
  message?: string | null | undefined;
  attempts?: number | undefined;
}

export interface ReportedState {
  state: DeploymentState;
  error_message: string | null;
  attempts: number;
}

export interface ReportOutcome extends ReportedState {
  /** True when the report changes nothing (a repeated report): nothing is written, no event. */
  noop: boolean;
}

/**
 * Applies one agent report to a deployment, or refuses it with 409 `invalid_transition`.
 *
 * - queued → deployed: the files are written. Accepted also when the target became `archived`
 *   meanwhile (the agent wrote them before it learnt of the supersession; the truth is recorded and
 *   the decision table then says remove).
 * - queued/deployed → archived: only when the target is `archived` (superseded).
 * - error none ↔ retrying while the deployment is queued or deployed, with a message and attempt count.
 * - failed (fatal): ends the deployment — activity and target `archived`, error `failed`. A failed
 *   deployment that was current is no longer current, so the device's current release becomes null
 *   until something else is deployed.
 * - A report of an activity without an error status means success: the error returns to `none`.
 * - A report identical to the current state is a no-op; a failed deployment accepts nothing else;
 *   deployments in the staging area are never the agent's business.
 */
export function applyAgentReport(current: ReportedState, report: AgentReport): ReportOutcome {
  if (report.activity_status === undefined && report.error_status === undefined) {
    throw badRequest('invalid_report', 'A report needs an activity_status, an error_status or both.', {
      fields: ['activity_status', 'error_status'],
    });
  }
  const from = current.state;
  const to = reportedState(from, report);
  if (from.target === 'staged')
    throwRefusal(from, to, 'the deployment has not been sent to the device (target staged)');
  const message =
    to.error === 'none' ? null : report.message !== undefined ? report.message : current.error_message;
  const attempts = report.attempts ?? current.attempts;
  const noop = sameState(from, to) && message === current.error_message && attempts === current.attempts;
  if (noop) return { state: to, error_message: message, attempts, noop };
  const refusal = refuse(from, to);
  if (refusal) throwRefusal(from, to, refusal);
  return { state: to, error_message: message, attempts, noop };
}

function throwRefusal(from: DeploymentState, to: DeploymentState, why: string): never {
  throw conflict(
    'invalid_transition',
    `The report would move the deployment from ${describeState(from)} to ${describeState(to)}: ${why}.`,
    {
      rule: 'agent_transition',
      from: { target_status: from.target, activity_status: from.activity, error_status: from.error },
      to: { target_status: to.target, activity_status: to.activity, error_status: to.error },
    },
  );
}

function reportedState(from: DeploymentState, report: AgentReport): DeploymentState {
  if (report.error_status === 'failed') {
    // Fatal: an activity other than `archived` in the same report is contradictory and refused below.
    const activity: DeploymentActivityStatus =
      report.activity_status === 'deployed' ? 'deployed' : 'archived';
    return { target: 'archived', activity, error: 'failed' };
  }
  const activity = report.activity_status ?? from.activity;
  const error = report.error_status ?? (report.activity_status !== undefined ? 'none' : from.error);
  return { target: from.target, activity, error };
}

/** Why `from → to` is not an agent transition, or null when it is. */
function refuse(from: DeploymentState, to: DeploymentState): string | null {
  if (from.error === 'failed') return 'a failed deployment is final';
  if (from.activity === 'staged' || from.activity === 'drifted')
    return 'the deployment has not been sent to the device';
  if (from.activity === 'archived') return 'an archived deployment is final';
  if (to.error === 'failed') return to.activity === 'archived' ? null : 'a failed deployment ends archived';
  if (from.activity === 'deployed' && to.activity === 'queued') return 'statuses only move forward';
  if (to.activity === 'archived') {
    if (from.target !== 'archived')
      return 'only a deployment whose target is archived (superseded) may be reported archived';
    if (to.error !== 'none') return 'an archived deployment cannot be retrying';
  }
  return null;
}

export type AgentAction = 'deploy' | 'remove' | 'archive' | 'nothing';

/**
 * What the agent does with a deployment it sees (the decision table of docs/decisions.md #28, as the
 * upstream agent's state machine does it). A failed deployment is left alone.
 */
export const AGENT_DECISIONS: Record<
  DeploymentTargetStatus,
  Record<DeploymentActivityStatus, AgentAction>
> = {
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
};

export function agentAction(state: DeploymentState): AgentAction {
  return state.error === 'failed' ? 'nothing' : AGENT_DECISIONS[state.target][state.activity];
}

/** What the agent's ledger says about a deployment's files: none, exactly the wanted ones, or others. */
export type FilesOnDisk = 'absent' | 'current' | 'other';

/** One step of the agent for one deployment: what to do with its files, then which report to send. */
export interface AgentStep {
  files: 'write' | 'remove' | 'keep';
  report: 'deployed' | 'archived' | null;
}

const SETTLED: AgentStep = { files: 'keep', report: null };

/**
 * The agent's decision for a deployment it sees, given its files on disk: the decision table
 * (`agentAction`) refined by the ledger. `deploy` writes unless the files are already there, then
 * reports `deployed`; `remove`/`archive` remove whatever is on disk, then report `archived`. Where the
 * table says `nothing`: the current deployment's lost files are written again (level-triggered), and the
 * files of a deployment that is final (failed, archived) go without a report, since the server accepts
 * none.
 */
export function agentStep(state: DeploymentState, disk: FilesOnDisk): AgentStep {
  switch (agentAction(state)) {
    case 'deploy':
      return { files: disk === 'current' ? 'keep' : 'write', report: 'deployed' };
    case 'remove':
    case 'archive':
      return { files: disk === 'absent' ? 'keep' : 'remove', report: 'archived' };
    case 'nothing':
      if (state.error !== 'failed' && state.target === 'deployed' && state.activity === 'deployed')
        return disk === 'current' ? SETTLED : { files: 'write', report: 'deployed' };
      return disk === 'absent' ? SETTLED : { files: 'remove', report: null };
  }
}
