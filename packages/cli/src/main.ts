import { BOSUN_VERSION } from '@bosun/server/version';
import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from './commands/agent.ts';
import { registerCompletionCommand } from './commands/completion.ts';
import { registerConfigTypeCommands } from './commands/config-types.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDeploymentCommands } from './commands/deployments.ts';
import { registerDeviceCommands } from './commands/devices.ts';
import { registerInstanceCommands } from './commands/instances.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerLoginCommand } from './commands/login.ts';
import { registerReleaseCommand } from './commands/release.ts';
import { registerReleasesCommands } from './commands/releases.ts';
import { registerSchemaCommands } from './commands/schemas.ts';
import { registerServerCommand } from './commands/server.ts';

/** Exit codes: 0 ok, 1 API or runtime error, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('bosun')
    .description('Bosun: configuration deployment for robot fleets')
    .version(BOSUN_VERSION, '-V, --version')
    .showHelpAfterError()
    // `bosun release create --version v1` must reach the subcommand, not print bosun's version.
    .enablePositionalOptions()
    .exitOverride();
  registerServerCommand(program);
  registerKeyCommands(program);
  registerAgentCommands(program);
  registerLoginCommand(program);
  registerReleaseCommand(program);
  registerReleasesCommands(program);
  registerDeviceCommands(program);
  registerDeploymentCommands(program);
  registerConfigTypeCommands(program);
  registerSchemaCommands(program);
  registerInstanceCommands(program);
  registerDemoCommand(program);
  registerCompletionCommand(program);
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
