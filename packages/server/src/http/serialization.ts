import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;

const defaultFactory = SerializerSelector();

/**
 * Fastify's own response serializers (fast-json-stringify), each compiled on the first response that
 * uses it rather than for every route at start-up, where they cost a large share of the start time.
 */
export const lazySerializerFactory: SerializerFactory = (externalSchemas, options) => {
  const compile = defaultFactory(externalSchemas, options);
  return (route) => {
    let serialize: ((doc: unknown) => string) | undefined;
    return (doc) => {
      serialize ??= compile(route);
      return serialize(doc);
    };
  };
};
