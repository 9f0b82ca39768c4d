export * from './backoff.ts';
export * from './device-view.ts';
export * from './digest.ts';
export * from './drift.ts';
export * from './retry.ts';
