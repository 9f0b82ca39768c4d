import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ALL_SCOPES, checkName, parseScopeList } from '@bosun/core';
import type { ApiKey } from '@bosun/sdk';
import type { Command } from 'commander';
import { type JsonOption, printOne, UsageError } from '../api.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';

/**
 * API keys through the platform API (`/beta/api_keys`, scope `api_keys:manage`), like every other
 * command. The one offline path is `keys create --data-dir DIR`: recovery when no working key is left.
 */
export const keys: ResourceDef<ApiKey> = {
  command: 'keys',
  description: 'Manage API keys (needs a key with api_keys:manage)',
  noun: 'key',
  idHint: 'api_key_...',
  api: (c) => c.apiKeys,
  columns: [
    ['ID', (k) => k.id],
    ['NAME', (k) => k.name],
    ['SCOPES', (k) => k.scopes.join(',')],
    ['CREATED', (k) => k.created_at],
    ['LAST USED', (k) => k.last_used_at],
    ['REVOKED', (k) => k.revoked_at],
  ],
  list: { description: 'List API keys (never their secrets)' },
  get: { description: 'Show one API key' },
  actions: [
    {
      name: 'create',
      description: 'Create an API key and print its secret (only this once) on stdout',
      target: false,
      json: false,
      options: (cmd) =>
        cmd
          .requiredOption('--name <name>', 'a name that says who uses the key')
          .requiredOption(
            '--scopes <scopes>',
            `comma-separated scopes, e.g. "deployments:read,devices:manage"`,
          )
          .option(
            '-d, --data-dir <dir>',
            "recovery: write the key straight into this server data directory's database (no server needed)",
          ),
      async run(ctx: ActionContext<{ name: string; scopes: string; dataDir?: string }>) {
        const { opts } = ctx;
        // The name is what `keys list` and GET /principal show; an empty one names nobody.
        const name = checkName('name', String(opts.name));
        const { scopes, unknown } = parseScopeList(opts.scopes);
        if (unknown.length || scopes.length === 0) {
          throw new UsageError(
            `${unknown.length ? `unknown scope(s): ${unknown.join(', ')}` : 'no scopes given'}; known scopes: ${ALL_SCOPES.join(', ')}`,
          );
        }
        const key =
          opts.dataDir !== undefined
            ? await createOffline(opts.dataDir, name, scopes)
            : await ctx.client.apiKeys.create({ name, scopes });
        process.stderr.write(`created ${key.id} (${key.name}) with scopes ${key.scopes.join(', ')}\n`);
        process.stdout.write(`${key.secret}\n`);
        return undefined;
      },
    },
    {
      name: 'rename',
      description: 'Rename an API key (its secret and scopes stay)',
      args: [['<name>', 'new name, 1–48 characters']],
      run: ({ client, id, args: [name] }) => client.apiKeys.update(id, { name: name! }),
    },
    {
      name: 'revoke',
      description: 'Revoke an API key immediately and permanently',
      async run({ client, id, opts }: ActionContext<JsonOption>) {
        const key = await client.apiKeys.revoke(id);
        if (opts.json) printOne(opts, key, keys.columns);
        process.stderr.write(`revoked ${key.id}\n`);
        return undefined;
      },
    },
  ],
};

export function registerKeyCommands(program: Command): void {
  registerResource(program, keys);
}

/**
 * Recovery: the key goes straight into the server's database. A directory without a database is
 * refused (a typo must not create an empty one whose key no server knows). The server code is loaded
 * only here, through its public entry point.
 */
async function createOffline(dataDir: string, name: string, scopes: string[]) {
  const server = await import('@bosun/server');
  const config = server.resolveServerConfig({ dataDir });
  if (!config.databaseUrl && !existsSync(join(config.dataDir, 'bosun.db'))) {
    throw new Error(
      `no Bosun database in ${resolve(dataDir)} (expected bosun.db); give the data directory of an existing server`,
    );
  }
  const store = await server.openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const secret = server.generateApiKeySecret();
    const key = await server.createRepositories(store.db).apiKeys.create({ name, scopes, secret });
    return { ...key, secret };
  } finally {
    await store.close();
  }
}
