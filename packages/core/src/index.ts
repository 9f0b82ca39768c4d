export * from './api-version.ts';
export * from './errors.ts';
export * from './git-remote.ts';
export * from './ids.ts';
export * from './list-query.ts';
export * from './names.ts';
export * from './scopes.ts';
