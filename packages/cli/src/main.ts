import { Command, CommanderError } from 'commander';
import { CLI_VERSION } from './version.ts';

type Register = (program: Command) => void;

/**
 * Each top-level command and the module that registers it, in help order. Loaded on demand: a
 * command's module (and what it imports: the SDK, the agent, the server) costs start-up time that
 * `bosun --version` or `bosun devices list` must not pay.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  server: async () => (await import('./commands/server.ts')).registerServerCommand,
  keys: async () => (await import('./commands/keys.ts')).registerKeyCommands,
  agent: async () => (await import('./commands/agent.ts')).registerAgentCommands,
  login: async () => (await import('./commands/login.ts')).registerLoginCommand,
  release: async () => (await import('./commands/release.ts')).registerReleaseCommand,
  releases: async () => (await import('./commands/releases.ts')).registerReleasesCommands,
  devices: async () => (await import('./commands/devices.ts')).registerDeviceCommands,
  groups: async () => (await import('./commands/groups.ts')).registerGroupCommands,
  rollouts: async () => (await import('./commands/rollouts.ts')).registerRolloutCommands,
  deployments: async () => (await import('./commands/deployments.ts')).registerDeploymentCommands,
  deploy: async () => (await import('./commands/deploy.ts')).registerDeployCommand,
  'config-types': async () => (await import('./commands/config-types.ts')).registerConfigTypeCommands,
  schemas: async () => (await import('./commands/schemas.ts')).registerSchemaCommands,
  instances: async () => (await import('./commands/instances.ts')).registerInstanceCommands,
  demo: async () => (await import('./commands/demo.ts')).registerDemoCommand,
  webhooks: async () => (await import('./commands/webhooks.ts')).registerWebhookCommands,
  completion: async () => (await import('./commands/completion.ts')).registerCompletionCommand,
};

/**
 * The commands this invocation needs: just the named one; none for a bare `--version`; all of them
 * otherwise (help, `completion`, an unknown command that commander answers with suggestions). Only
 * `-V/--version` and `-h/--help` are top-level options, so the first non-option word is the command.
 */
function commandsFor(args: string[]): string[] {
  const first = args.find((a) => !a.startsWith('-'));
  if (first !== undefined && first !== 'completion' && Object.hasOwn(COMMANDS, first)) return [first];
  if (first === undefined && args.length > 0 && args.every((a) => a === '-V' || a === '--version')) return [];
  return Object.keys(COMMANDS);
}

/** Exit codes: 0 ok, 1 API or runtime error, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('bosun')
    .description('Bosun: configuration deployment for robot fleets')
    .version(CLI_VERSION, '-V, --version')
    .showHelpAfterError()
    // `bosun release create --version v1` must reach the subcommand, not print bosun's version.
    .enablePositionalOptions()
    .exitOverride();
  const registers = await Promise.all(commandsFor(argv.slice(2)).map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
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
