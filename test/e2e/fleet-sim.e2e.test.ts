import { describe, expect, it } from 'vitest';
import { runFleet } from '../../bench/fleet/sim.ts';
import { httpEngine } from '../support/store.ts';

/**
 * The fleet simulator as a correctness test: 200 robots, each the real compiled agent, against a
 * real `bosun server` process, converge — all enrol and connect, all apply a deployment made for
 * every one of them, all come back after the server restarts. No assertion on time (the figures are
 * the benchmark's, `npm run bench -- fleet`). On PostgreSQL it also runs against the external broker
 * when BOSUN_TEST_MQTT_URL is set.
 */
const ROBOTS = 200;

describe('fleet simulator', () => {
  it(`${ROBOTS} robots enrol, connect, all get a deployment, and all come back after a server restart`, async () => {
    const postgres = httpEngine() === 'postgres';
    const figures = await runFleet({
      robots: ROBOTS,
      workers: 2,
      databaseUrl: postgres ? process.env.BOSUN_TEST_DATABASE_URL : undefined,
      mqttUrl: postgres ? process.env.BOSUN_TEST_MQTT_URL : undefined,
      scenarios: ['rollout', 'restart'],
      stormSeconds: 5,
      timeoutMs: 180_000,
    });
    expect(figures.storm?.failedStarts, figures.storm?.problemSamples.join('\n')).toBe(0);
    expect(figures.rollout?.deployed).toBe(ROBOTS);
    // The embedded broker stops with the server, so every robot reconnects; an external one keeps them.
    expect(figures.restart?.lost).toBe(figures.broker === 'embedded' ? ROBOTS : 0);
    expect(figures.restart?.back).toBe(figures.restart?.lost);
  });
});
