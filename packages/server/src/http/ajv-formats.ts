import formatsPlugin, { type FormatsPlugin } from 'ajv-formats';

/**
 * The ajv-formats plugin. The package is CommonJS with a default export: under NodeNext the default
 * import is the module object, whose `.default` is the plugin (a bundle may hand over the plugin
 * itself). Both Ajv instances of the server (request validation, JSON Schema languages) use this.
 */
const loaded: FormatsPlugin | { default: FormatsPlugin } = formatsPlugin;
export const addFormats: FormatsPlugin = 'default' in loaded ? loaded.default : loaded;
