export * from './agent.ts';
export * from './deploy-plan.ts';
export * from './instance-set.ts';
export * from './lifecycle.ts';
export * from './rollback.ts';
export * from './status.ts';
