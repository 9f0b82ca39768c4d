export * from './groups.ts';
export * from './tags.ts';
