import type { RestartableServer } from './fleet.ts';

/**
 * The config catalog the end-to-end suites build before their robots start: config types named
 * `<name> <tag>`, JSON Schema schemas writing to a path, instances, releases `<version>-<tag>` (the
 * tag keeps runs on one database apart). Each returns the new id.
 */
export function catalog(server: RestartableServer, tag: string) {
  return {
    type: async (name: string): Promise<string> =>
      (
        await server.api('POST', 'config_types', {
          name: `${name} ${tag}`,
          slug: `${name.toLowerCase()}-${tag}`,
        })
      ).id,
    schema: async (
      typeId: string,
      path: string,
      schema = JSON.stringify({ type: 'object' }),
    ): Promise<string> =>
      (
        await server.api('POST', 'config_schemas', {
          config_type_ref: { id: typeId },
          instance_filepath: path,
          language: 'jsonschema',
          format: 'json',
          documents: [{ name: 'schema.json', data: schema }],
        })
      ).id,
    instance: async (schemaId: string, data: string): Promise<string> =>
      (
        await server.api('POST', 'config_instances', {
          config_schema_id: schemaId,
          content: { format: 'json', data },
        })
      ).id,
    release: async (version: string, schemaIds: string[]): Promise<string> =>
      (await server.api('POST', 'releases', { version: `${version}-${tag}`, config_schema_ids: schemaIds }))
        .id,
  };
}
