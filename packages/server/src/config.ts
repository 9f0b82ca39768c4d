import { resolve } from 'node:path';

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  logLevel: string;
  bootstrapApiKey: string | undefined;
}

/** Flags win over environment variables, which win over the embedded defaults. */
export function resolveServerConfig(
  flags: { port?: string | number; host?: string; dataDir?: string; logLevel?: string },
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const portText = String(flags.port ?? env.BOSUN_PORT ?? '8080');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`port must be an integer between 0 and 65535, got '${portText}'`);
  }
  return {
    port,
    host: flags.host ?? env.BOSUN_HOST ?? '127.0.0.1',
    dataDir: resolve(flags.dataDir ?? env.BOSUN_DATA_DIR ?? '.bosun'),
    databaseUrl: env.BOSUN_DATABASE_URL || undefined,
    logLevel: flags.logLevel ?? env.BOSUN_LOG_LEVEL ?? 'info',
    bootstrapApiKey: env.BOSUN_BOOTSTRAP_API_KEY || undefined,
  };
}
