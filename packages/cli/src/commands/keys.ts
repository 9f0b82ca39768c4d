import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ALL_SCOPES, checkName, parseScopeList } from '@bosun/core';
import type { ApiKey } from '@bosun/sdk';
import type { Command } from 'commander';
import {
  addListOptions,
  connect,
  fetchList,
  type JsonOption,
  jsonOption,
  type ListOptions,
  printList,
  printOne,
  run,
  UsageError,
} from '../api.ts';

const fields: [string, (k: ApiKey) => unknown][] = [
  ['ID', (k) => k.id],
  ['NAME', (k) => k.name],
  ['SCOPES', (k) => k.scopes.join(',')],
  ['CREATED', (k) => k.created_at],
  ['LAST USED', (k) => k.last_used_at],
  ['REVOKED', (k) => k.revoked_at],
];

/**
 * API keys through the platform API (`/beta/api_keys`, scope `api_keys:manage`), like every other
 * command. The one offline path is `keys create --data-dir DIR`: recovery when no working key is left.
 */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('Manage API keys (needs a key with api_keys:manage)');
  const show = (opts: JsonOption, k: ApiKey) => printOne(opts, k, fields);

  keys
    .command('create')
    .description('Create an API key and print its secret (only this once) on stdout')
    .requiredOption('--name <name>', 'a name that says who uses the key')
    .requiredOption('--scopes <scopes>', `comma-separated scopes, e.g. "deployments:read,devices:manage"`)
    .option(
      '-d, --data-dir <dir>',
      "recovery: write the key straight into this server data directory's database (no server needed)",
    )
    .action(
      run(async (opts: { name: string; scopes: string; dataDir?: string }) => {
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
            : await connect().apiKeys.create({ name, scopes });
        process.stderr.write(`created ${key.id} (${key.name}) with scopes ${key.scopes.join(', ')}\n`);
        process.stdout.write(`${key.secret}\n`);
      }),
    );

  addListOptions(keys.command('list').description('List API keys (never their secrets)')).action(
    run(async (opts: ListOptions) => {
      printList(opts, await fetchList(connect().apiKeys, opts, {}), fields);
    }),
  );

  keys
    .command('get')
    .description('Show one API key')
    .argument('<key-id>', 'api_key_...')
    .addOption(jsonOption())
    .action(run(async (id: string, opts: JsonOption) => show(opts, await connect().apiKeys.get(id))));

  keys
    .command('rename')
    .description('Rename an API key (its secret and scopes stay)')
    .argument('<key-id>', 'api_key_...')
    .argument('<name>', 'new name, 1–48 characters')
    .addOption(jsonOption())
    .action(
      run(async (id: string, name: string, opts: JsonOption) =>
        show(opts, await connect().apiKeys.update(id, { name })),
      ),
    );

  keys
    .command('revoke')
    .description('Revoke an API key immediately and permanently')
    .argument('<key-id>', 'api_key_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) => {
        const key = await connect().apiKeys.revoke(id);
        if (opts.json) show(opts, key);
        process.stderr.write(`revoked ${key.id}\n`);
      }),
    );
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
