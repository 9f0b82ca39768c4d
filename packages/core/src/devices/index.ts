export * from './agenda.ts';
export * from './device-jwt.ts';
export * from './ping.ts';
export * from './presence.ts';
