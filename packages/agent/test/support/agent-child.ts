/** Child process of the agent crash test: the real Agent, polling fast, until it is SIGKILLed. */
import pino from 'pino';
import { Agent } from '../../src/agent.ts';

const [stateDir, fsRoot] = process.argv.slice(2) as [string, string];
const agent = new Agent({
  stateDir,
  fsRoot,
  push: false,
  pollIntervalMs: 50,
  driftIntervalMs: 3_600_000,
  logger: pino({ level: process.env.BOSUN_TEST_LOG_LEVEL ?? 'silent' }),
});
await agent.start();
process.stdout.write('ready\n');
