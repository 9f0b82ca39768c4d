import { BosunError, countTargets, nextStep, type RolloutStrategy, randomBase62 } from '@bosun/core';
import type { FastifyBaseLogger } from 'fastify';
import type { DeviceNotifier } from '../mqtt/index.ts';
import type { Repositories } from '../storage/index.ts';
import type { RolloutPlan, RolloutRow, RolloutSelection } from '../storage/rollouts.ts';

export interface RolloutDriverOptions {
  /** How often running rollouts are looked at (default 1 s). */
  tickMs?: number;
  /** How long a claim on a rollout lasts (default 30 s): a crashed replica's rollouts move on after it. */
  leaseMs?: number;
}

/**
 * Advances running rollouts (docs/decisions.md #78): on each tick it claims each running rollout
 * (a lease in the database row, so one replica at a time), reads where its devices stand, asks the
 * core rule `nextStep`, and applies the answer — start a wave (one ordinary deployment per device),
 * soak, pause with the reason, or complete. Deployments and pauses are idempotent on re-run: a
 * target that has a deployment is never deployed again by the same wave.
 */
export class RolloutDriver {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly owner = `drv_${randomBase62(12)}`;

  constructor(
    private readonly repos: Repositories,
    private readonly notifier: DeviceNotifier,
    private readonly log: FastifyBaseLogger,
    private readonly opts: RolloutDriverOptions = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.opts.tickMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs a pass now (after a create or resume), or right after the one in progress. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass().catch((err) => this.log.error({ err: String(err) }, 'rollout pass failed'));
      } while (this.again && this.timer);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    for (const id of await this.repos.rollouts.runningIds()) {
      if (!(await this.repos.rollouts.claim(id, this.owner, this.opts.leaseMs ?? 30_000))) continue;
      try {
        await this.step(id);
      } finally {
        await this.repos.rollouts.release(id, this.owner);
      }
    }
  }

  /** Steps one rollout until it has to wait. */
  private async step(id: string): Promise<void> {
    for (let guard = 0; guard < 50; guard++) {
      const row = await this.repos.rollouts.get(id);
      if (row?.status !== 'running') return;
      const strategy = JSON.parse(row.strategy) as RolloutStrategy;
      const selection = JSON.parse(row.selector) as RolloutSelection;
      let targets = await this.repos.rollouts.targets([id]);
      if (strategy.include_new_devices && (selection.group_ids.length || selection.tag_selector)) {
        const known = new Set(targets.map((t) => t.device_id));
        const groups = (
          await Promise.all(
            selection.group_ids.map((g) => this.repos.groups.withSubgroups(g, selection.include_subgroups)),
          )
        ).flat();
        const joined = (
          await this.repos.rollouts.selectDevices({ ...selection, device_ids: [] }, groups)
        ).filter((d) => !known.has(d));
        if (joined.length) {
          await this.repos.rollouts.addTargets(id, row.current_wave, joined);
          targets = await this.repos.rollouts.targets([id]);
        }
      }
      const counts = countTargets(targets, strategy.waves.length);
      const decision = nextStep({
        status: row.status,
        strategy,
        currentWave: row.current_wave,
        waves: counts.waves,
        soakUntil: row.soak_until,
        now: new Date().toISOString(),
      });
      switch (decision.action) {
        case 'wait':
          return;
        case 'soak':
          await this.repos.rollouts.advance(
            id,
            { soak_until: decision.until },
            {
              type: 'soaking',
              wave: row.current_wave,
              message: `Wave ${row.current_wave + 1} settled; soaking until ${decision.until}.`,
            },
          );
          return;
        case 'pause':
          await this.repos.rollouts.advance(
            id,
            { status: 'paused', status_reason: decision.reason },
            { type: 'paused', wave: row.current_wave, message: decision.reason },
          );
          return;
        case 'complete':
          await this.repos.rollouts.advance(
            id,
            { status: 'completed', status_reason: null },
            {
              type: 'completed',
              wave: row.current_wave,
              message: `Completed: ${counts.total.deployed} devices deployed.`,
            },
          );
          return;
        case 'start_wave': {
          if (decision.wave !== row.current_wave) {
            const moved = await this.repos.rollouts.advance(
              id,
              { current_wave: decision.wave, soak_until: null, wave_started_at: new Date().toISOString() },
              { type: 'wave_started', wave: decision.wave, message: `Wave ${decision.wave + 1} started.` },
            );
            if (!moved) return;
            continue;
          }
          await this.deployWave(
            row,
            targets.filter((t) => t.wave === decision.wave && t.state === 'pending').map((t) => t.device_id),
          );
        }
      }
    }
  }

  private async deployWave(row: RolloutRow, deviceIds: string[]): Promise<void> {
    const plan = JSON.parse(row.plan) as RolloutPlan;
    for (const deviceId of deviceIds) {
      // Stop at once when an operator paused or aborted meanwhile.
      const now = await this.repos.rollouts.get(row.id);
      if (now?.status !== 'running') return;
      try {
        const d = await this.repos.deployments.deployInstanceSet(
          {
            device_id: deviceId,
            release_id: row.release_id,
            config_instance_ids: plan.config_instance_ids,
            keep_current: plan.keep_current,
            description: `${row.description} (rollout ${row.id}, wave ${row.current_wave + 1})`,
            auto_rollback: row.auto_rollback === null ? undefined : row.auto_rollback === 1,
            rollout_id: row.id,
          },
          { type: 'system' },
        );
        await this.repos.rollouts.setTarget(row.id, deviceId, { state: 'created', deployment_id: d.id });
        this.notifier.notify(deviceId, 'deployment_changed');
      } catch (err) {
        if (!(err instanceof BosunError)) throw err;
        // A device this release cannot be deployed to (its instance set, a device gone): skipped, with why.
        await this.repos.rollouts.setTarget(row.id, deviceId, { state: 'skipped', deployment_id: null });
        await this.repos.rollouts.recordEvent(
          row.id,
          'device_skipped',
          row.current_wave,
          `${deviceId} skipped: ${err.message}`,
        );
      }
    }
  }
}
