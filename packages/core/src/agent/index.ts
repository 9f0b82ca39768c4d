export * from './digest.ts';
export * from './drift.ts';
export * from './retry.ts';
