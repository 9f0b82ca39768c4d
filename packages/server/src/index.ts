export { buildApp } from './app.ts';
export { bootstrapAdminKey } from './bootstrap.ts';
export { resolveServerConfig, type ServerConfig } from './config.ts';
export { openStore, type Store } from './db/database.ts';
export { createLogger } from './logger.ts';
export { closeOnSignals, type RunningServer, startServer } from './server.ts';
export { API_KEY_PREFIX, generateApiKeySecret } from './storage/api-keys.ts';
export { createRepositories, type Repositories } from './storage/index.ts';
export { BOSUN_VERSION } from './version.ts';
