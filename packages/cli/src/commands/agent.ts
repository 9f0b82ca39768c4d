import { type Command, InvalidArgumentError } from 'commander';

const DEFAULT_STATE_DIR = '/var/lib/bosun-agent';

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return n;
};

/** `bosun agent provision|run`: a thin shell around the @bosun/agent library. */
export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('The on-robot agent that applies deployments');

  agent
    .command('provision')
    .description('Generate the device key pair, activate with a one-time token and store the identity')
    .requiredOption('--server <url>', 'Bosun server URL, e.g. https://bosun.example.com')
    .option('--token <token>', 'activation token (env BOSUN_ACTIVATION_TOKEN)')
    .option('--state-dir <dir>', 'agent state directory (env BOSUN_AGENT_STATE_DIR)')
    .option('--reprovision', 'activate again even if this state dir is already activated (rebinds)')
    .action(async (opts, cmd: Command) => {
      const token: string | undefined = opts.token ?? process.env.BOSUN_ACTIVATION_TOKEN;
      if (!token) cmd.error('error: an activation token is required (--token or BOSUN_ACTIVATION_TOKEN)');
      const stateDir = opts.stateDir ?? process.env.BOSUN_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR;
      // The agent library (Fastify, MQTT, pino) loads only for the commands that use it.
      const { provision } = await import('@bosun/agent');
      const result = await provision({
        server: opts.server,
        token,
        stateDir,
        reprovision: Boolean(opts.reprovision),
      });
      const { device } = result;
      process.stdout.write(
        result.outcome === 'activated'
          ? `activated as ${device.name} (${device.device_id}); state in ${stateDir}\n`
          : `already activated as ${device.name} (${device.device_id}); nothing to do (use --reprovision to rebind)\n`,
      );
    });

  agent
    .command('run')
    .description('Run the agent daemon (reconcile loop, push channel, drift checks)')
    .option('--state-dir <dir>', 'agent state directory (env BOSUN_AGENT_STATE_DIR)')
    .option('--fs-root <dir>', 'prefix for every absolute config path', '/')
    .option('--server <url>', 'override the server URL stored at activation')
    .option('--mqtt-url <url>', 'override the broker URL returned at activation')
    .option('--no-push', 'do not connect to the push channel (poll only)')
    .option(
      '--socket <path>',
      'serve the on-robot Device API on this Unix socket (env BOSUN_AGENT_SOCKET)',
      process.env.BOSUN_AGENT_SOCKET ?? '/run/bosun/bosun.sock',
    )
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
      const { Agent, createAgentLogger } = await import('@bosun/agent');
      const logger = createAgentLogger(opts.logLevel ?? process.env.BOSUN_LOG_LEVEL ?? 'info');
      const daemon = new Agent({
        stateDir: opts.stateDir ?? process.env.BOSUN_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR,
        fsRoot: opts.fsRoot,
        ...(opts.server ? { server: opts.server } : {}),
        ...(opts.mqttUrl ? { mqttUrl: opts.mqttUrl } : {}),
        push: opts.push !== false,
        ...(opts.socket ? { socketPath: opts.socket } : {}),
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
}
