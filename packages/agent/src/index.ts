export * from './agent.ts';
export * from './applier.ts';
export * from './client.ts';
export * from './identity.ts';
export * from './logger.ts';
export * from './provision.ts';
