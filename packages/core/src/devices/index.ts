export * from './agenda.ts';
export * from './ping.ts';
export * from './presence.ts';
