import { arch, platform } from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { AGENT_VERSION } from '../version.ts';

/**
 * The `bosun-agent` command, also mounted as `bosun agent` by the CLI (one implementation). Only
 * commander is loaded up front: each action imports what it needs, so `version` and `status` start
 * without the reconcile engine, and nothing here reaches server code (tested over the bundle).
 */

/** Where the .deb, the install script and the systemd unit keep the agent's state. */
export const DEFAULT_STATE_DIR = '/var/lib/bosun';
export const DEFAULT_SOCKET = '/run/bosun/bosun.sock';

const env = (name: string): string | undefined => process.env[name] || undefined;
const stateDirOf = (opts: { stateDir?: string }) =>
  opts.stateDir ?? env('BOSUN_AGENT_STATE_DIR') ?? DEFAULT_STATE_DIR;

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return n;
};

export function versionLine(): string {
  return `bosun-agent ${AGENT_VERSION} (node ${process.version}, ${platform()}-${arch()})`;
}

/** Adds `provision`, `run`, `status` and `version` under `parent` (`bosun-agent` or `bosun agent`). */
export function addAgentCommands(parent: Command): Command {
  parent
    .command('provision')
    .description('Generate the device key pair, activate with a one-time token and store the identity')
    .option('--server <url>', 'Bosun server URL, e.g. https://bosun.example.com (env BOSUN_SERVER_URL)')
    .option('--token <token>', 'activation token (env BOSUN_ACTIVATION_TOKEN)')
    .option(
      '--state-dir <dir>',
      `agent state directory (env BOSUN_AGENT_STATE_DIR, default ${DEFAULT_STATE_DIR})`,
    )
    .option('--reprovision', 'activate again even if this state dir is already activated (rebinds)')
    .option(
      '--ca-file <path>',
      'PEM CA bundle the server and broker certificates chain to; kept in the state dir for run (env BOSUN_CA_FILE)',
    )
    .action(async (opts, cmd: Command) => {
      const server: string | undefined = opts.server ?? env('BOSUN_SERVER_URL');
      if (!server) cmd.error('error: the server URL is required (--server or BOSUN_SERVER_URL)');
      const token: string | undefined = opts.token ?? env('BOSUN_ACTIVATION_TOKEN');
      if (!token) cmd.error('error: an activation token is required (--token or BOSUN_ACTIVATION_TOKEN)');
      const stateDir = stateDirOf(opts);
      const { provision } = await import('../provision.ts');
      const caFile: string | undefined = opts.caFile ?? env('BOSUN_CA_FILE');
      const result = await provision({
        server,
        token,
        stateDir,
        reprovision: Boolean(opts.reprovision),
        ...(caFile ? { caFile } : {}),
      });
      const { device } = result;
      process.stdout.write(
        result.outcome === 'activated'
          ? `activated as ${device.name} (${device.device_id}); state in ${stateDir}\n`
          : `already activated as ${device.name} (${device.device_id}); nothing to do (use --reprovision to rebind)\n`,
      );
    });

  parent
    .command('run')
    .description('Run the agent daemon (reconcile loop, push channel, drift checks, Device API socket)')
    .option(
      '--state-dir <dir>',
      `agent state directory (env BOSUN_AGENT_STATE_DIR, default ${DEFAULT_STATE_DIR})`,
    )
    .option('--fs-root <dir>', 'prefix for every absolute config path', '/')
    .option('--server <url>', 'override the server URL stored at activation (env BOSUN_SERVER_URL)')
    .option('--mqtt-url <url>', 'override the broker URL returned at activation')
    .option('--ca-file <path>', 'PEM CA bundle instead of the one stored at provisioning (env BOSUN_CA_FILE)')
    .option('--no-push', 'do not connect to the push channel (poll only)')
    .option('--socket <path>', `serve the on-robot Device API on this Unix socket (env BOSUN_AGENT_SOCKET)`)
    .option('--no-socket', 'do not serve the Device API')
    .option(
      '--poll-interval <seconds>',
      'poll the desired state this often',
      positiveInt('--poll-interval'),
      60,
    )
    .option(
      '--drift-interval <seconds>',
      'check deployed files this often',
      positiveInt('--drift-interval'),
      60,
    )
    .option(
      '--mqtt-keepalive <seconds>',
      'MQTT keep-alive; a crashed agent shows offline after 1.5 × this',
      positiveInt('--mqtt-keepalive'),
      30,
    )
    .option('--drift-mode <mode>', 'restore | report', 'restore')
    .option('--retry-base <ms>', 'first retry delay', positiveInt('--retry-base'), 5_000)
    .option('--retry-cap <ms>', 'longest retry delay', positiveInt('--retry-cap'), 600_000)
    .option('--max-attempts <n>', 'failed applies before giving up', positiveInt('--max-attempts'), 10)
    .option('--log-level <level>', 'trace|debug|info|warn|error (env BOSUN_LOG_LEVEL)')
    .action(async (opts, cmd: Command) => {
      if (opts.driftMode !== 'restore' && opts.driftMode !== 'report')
        cmd.error("error: --drift-mode must be 'restore' or 'report'");
      const [{ Agent }, { createAgentLogger }] = await Promise.all([
        import('../agent.ts'),
        import('../logger.ts'),
      ]);
      const logger = createAgentLogger(opts.logLevel ?? env('BOSUN_LOG_LEVEL') ?? 'info');
      const server: string | undefined = opts.server ?? env('BOSUN_SERVER_URL');
      const caFile: string | undefined = opts.caFile ?? env('BOSUN_CA_FILE');
      // `--no-socket` sets socket to false; otherwise the flag, the environment, the default.
      const socketPath: string | undefined =
        opts.socket === false ? undefined : (opts.socket ?? env('BOSUN_AGENT_SOCKET') ?? DEFAULT_SOCKET);
      const daemon = new Agent({
        stateDir: stateDirOf(opts),
        fsRoot: opts.fsRoot,
        ...(server ? { server } : {}),
        ...(opts.mqttUrl ? { mqttUrl: opts.mqttUrl } : {}),
        ...(caFile ? { caFile } : {}),
        push: opts.push !== false,
        ...(socketPath ? { socketPath } : {}),
        pollIntervalMs: opts.pollInterval * 1000,
        mqttKeepaliveSeconds: opts.mqttKeepalive,
        driftIntervalMs: opts.driftInterval * 1000,
        driftMode: opts.driftMode,
        retry: { baseMs: opts.retryBase, capMs: opts.retryCap, maxAttempts: opts.maxAttempts },
        logger,
      });
      await daemon.start();
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        // systemd waits TimeoutStopSec; we promise 5 s. An apply cut short is rolled back on restart.
        setTimeout(() => process.exit(1), 4_500).unref();
        daemon.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      // `systemctl reload bosun-agent` (or kill -HUP): reconcile now instead of at the next poll.
      process.on('SIGHUP', () => {
        logger.info('SIGHUP: syncing now');
        void daemon.sync();
      });
    });

  parent
    .command('status')
    .description('Show the device identity, server, current deployment and report outbox of this agent')
    .option(
      '--state-dir <dir>',
      `agent state directory (env BOSUN_AGENT_STATE_DIR, default ${DEFAULT_STATE_DIR})`,
    )
    .option('--socket <path>', 'ask the running agent on this socket too (env BOSUN_AGENT_SOCKET)')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const { readAgentStatus, formatAgentStatus } = await import('./status.ts');
      const status = await readAgentStatus(
        stateDirOf(opts),
        opts.socket ?? env('BOSUN_AGENT_SOCKET') ?? DEFAULT_SOCKET,
      );
      process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatAgentStatus(status));
      if (!status.provisioned) process.exitCode = 1;
    });

  parent
    .command('version')
    .description('Print the agent version and its runtime')
    .action(() => {
      process.stdout.write(`${versionLine()}\n`);
    });
  return parent;
}

/** `bosun-agent`. Exit codes: 0 ok, 1 runtime error, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('bosun-agent')
    .description('Bosun agent: applies configuration deployments from a Bosun server to this device')
    .version(versionLine(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  addAgentCommands(program);
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
