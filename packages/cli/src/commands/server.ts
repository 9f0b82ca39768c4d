import type { Command } from 'commander';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('Run the Bosun server (SQLite in the data directory unless BOSUN_DATABASE_URL is set)')
    .option('-p, --port <port>', 'port to listen on (env BOSUN_PORT)', undefined)
    .option('--host <host>', 'address to listen on (env BOSUN_HOST)', undefined)
    .option('-d, --data-dir <dir>', 'data directory for the SQLite database (env BOSUN_DATA_DIR)', undefined)
    .option('--log-level <level>', 'trace|debug|info|warn|error (env BOSUN_LOG_LEVEL)', undefined)
    .option(
      '--mqtt-port <port>',
      'also serve the embedded MQTT broker over TCP on this port (env BOSUN_MQTT_PORT)',
      undefined,
    )
    .addHelpText(
      'after',
      "\nEnvironment:\n  BOSUN_DATABASE_URL       postgres://... to use PostgreSQL instead of SQLite\n  BOSUN_BOOTSTRAP_API_KEY  admin key to create on first start instead of generating one\n  BOSUN_MQTT_URL           mqtt://... external broker instead of the embedded one\n  BOSUN_MQTT_PUBLIC_URL    broker URL handed to devices, when it differs from BOSUN_MQTT_URL\n  BOSUN_PUBLIC_URL         URL robots reach this server at, used by /install.sh (default: the request's host)\n  BOSUN_ARTIFACTS_DIR      agent downloads served at /downloads/ (default: packages/agent/artifacts)\n  BOSUN_TLS_CERT_FILE      PEM certificate chain: serve HTTPS (and the embedded broker as wss/mqtts)\n  BOSUN_TLS_KEY_FILE       its PEM private key\n",
    )
    .action(async (opts) => {
      // Loaded here, not at the top: every other command starts without the whole server.
      const { closeOnSignals, createLogger, resolveServerConfig, startServer } = await import(
        '@bosun/server'
      );
      const config = resolveServerConfig(opts);
      const logger = createLogger(config.logLevel);
      const server = await startServer(config, { logger });
      closeOnSignals(server, logger);
    });
}
