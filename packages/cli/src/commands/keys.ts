import { ALL_SCOPES, checkName, parseScopeList } from '@bosun/core';
import type { Repositories } from '@bosun/server';
import type { Command } from 'commander';
import { printTable } from '../output.ts';

/**
 * Key management works on the database directly (the server may be running), because API keys are
 * deliberately not manageable through the platform API.
 */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('Manage API keys (directly in the database)');
  const dataDirOption = ['-d, --data-dir <dir>', 'data directory (env BOSUN_DATA_DIR)'] as const;

  keys
    .command('create')
    .description('Create an API key and print its secret (only this once) on stdout')
    .requiredOption('--name <name>', 'a name that says who uses the key')
    .requiredOption('--scopes <scopes>', `comma-separated scopes, e.g. "deployments:read,devices:manage"`)
    .option(...dataDirOption)
    .action(async (opts) => {
      // The name is what `keys list` and GET /principal show; an empty one names nobody.
      const name = checkName('name', String(opts.name));
      const { scopes, unknown } = parseScopeList(opts.scopes);
      if (unknown.length || scopes.length === 0) {
        throw new Error(
          `${unknown.length ? `unknown scope(s): ${unknown.join(', ')}` : 'no scopes given'}; known scopes: ${ALL_SCOPES.join(', ')}`,
        );
      }
      await withRepos(opts.dataDir, async (repos, { generateApiKeySecret }) => {
        const secret = generateApiKeySecret();
        const key = await repos.apiKeys.create({ name, scopes, secret });
        process.stderr.write(`created ${key.id} (${key.name}) with scopes ${scopes.join(', ')}\n`);
        process.stdout.write(`${secret}\n`);
      });
    });

  keys
    .command('list')
    .description('List API keys (never their secrets)')
    .option(...dataDirOption)
    .option('--json', 'print JSON')
    .action(async (opts) => {
      await withRepos(opts.dataDir, async (repos) => {
        const all = await repos.apiKeys.list();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
          return;
        }
        printTable(
          ['ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED'],
          all.map((k) => [k.id, k.name, k.scopes.join(','), k.created_at, k.revoked_at ?? '']),
        );
      });
    });

  keys
    .command('revoke')
    .description('Revoke an API key immediately and permanently')
    .argument('<id>', 'key id (api_key_...)')
    .option(...dataDirOption)
    .action(async (id: string, opts) => {
      await withRepos(opts.dataDir, async (repos) => {
        if (!(await repos.apiKeys.revoke(id))) throw new Error(`no active API key with id ${id}`);
        process.stderr.write(`revoked ${id}\n`);
      });
    });
}

async function withRepos<T>(
  dataDir: string | undefined,
  fn: (repos: Pick<Repositories, 'apiKeys'>, server: typeof import('@bosun/server')) => Promise<T>,
): Promise<T> {
  // Loaded here, not at the top: the server code costs start-up time every other command must not pay.
  const server = await import('@bosun/server');
  const { openStore, resolveServerConfig } = server;
  const config = resolveServerConfig({ dataDir });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await fn({ apiKeys: server.createRepositories(store.db).apiKeys }, server);
  } finally {
    await store.close();
  }
}
