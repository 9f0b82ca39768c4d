import { addAgentCommands } from '@bosun/agent/cli';
import type { Command } from 'commander';

/** `bosun agent …` is the `bosun-agent` command of @bosun/agent, mounted here (one implementation). */
export function registerAgentCommands(program: Command): void {
  addAgentCommands(
    program.command('agent').description('The on-robot agent (same as the bosun-agent command)'),
  );
}
