import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** One registered route: what the authorization rules and the tests derived from them read. */
export interface RouteEntry {
  method: string;
  url: string;
  config: FastifyContextConfig;
  /** The route's body schema declares a JSON object. */
  objectBody: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app as registered (HEAD twins included), in registration order. */
    routeTable: readonly RouteEntry[];
  }
}

/** Must be registered before any route: Fastify tells `onRoute` hooks only of later routes. */
export const routeTablePlugin = fp(async (app: FastifyInstance) => {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const body = route.schema?.body as { type?: unknown } | undefined;
    for (const method of [route.method].flat()) {
      table.push({ method, url: route.url, config: route.config ?? {}, objectBody: body?.type === 'object' });
    }
  });
});
