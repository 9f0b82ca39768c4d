import { BOSUN_VERSION } from '@bosun/server';
import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from './commands/agent.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerServerCommand } from './commands/server.ts';

/** Exit codes: 0 ok, 1 API or runtime error, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('bosun')
    .description('Bosun: configuration deployment for robot fleets')
    .version(BOSUN_VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  registerServerCommand(program);
  registerKeyCommands(program);
  registerAgentCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
