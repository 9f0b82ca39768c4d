/**
 * Serializers of the API objects with batched expansions. Any route that embeds schemas, instances
 * or releases (deployments: `expand=release.config_schemas`, `expand=config_instances.content`)
 * renders them through these, so every resource looks the same wherever it appears.
 */
export { type ConfigInstanceView, renderConfigInstances, toConfigInstance } from './config-instances.ts';
export { type ConfigSchemaView, renderConfigSchemas, toConfigSchema } from './config-schemas.ts';
export { configTypesById } from './config-types.ts';
export { type ReleaseView, renderReleases, toRelease } from './releases.ts';
