import type { BosunClient, Page } from '@bosun/sdk';
import { type Command, Option } from 'commander';
import {
  addListOptions,
  connect,
  type JsonOption,
  jsonOption,
  type ListOptions,
  printList,
  printOne,
  run,
} from './api.ts';
import { type RefKind, resolveRef, resolveRefs } from './refs.ts';

/**
 * The resource commands (`bosun devices|groups|rollouts|releases|deployments|config-types|schemas|
 * instances|keys|webhooks …`,
 * docs/decisions.md #51): one table-driven definition per resource, served by `registerResource`,
 * which builds `list`, `get` and every action with the same paging, `--json`, name resolution and
 * error handling.
 *
 * Adding a resource (e.g. `commands/groups.ts`):
 * 1. `commands/<name>.ts` exports a `ResourceDef` — command name, noun and id hint, the SDK resource
 *    (`api`), the table `columns` (plus `details` for one object), `list.filters` (each option maps to
 *    one query parameter; `ref` resolves names), `get` (expansions, extra output) and `actions`
 *    (create, update, verbs: `target: false` when the action takes no object) — and a
 *    `register…Commands(program)` that calls `registerResource(program, def)`.
 * 2. Add that module to `COMMANDS` in `main.ts` (it is imported only when its command runs).
 * 3. If people name objects of this kind, teach `refs.ts` (and core's `canBeName`) the list filter.
 * 4. Test it against a real server like `packages/cli/test/cli-resources.test.ts`.
 */

/** A table column (or a field of one object): its header and how to read it. */
export type Column<T> = [header: string, value: (item: T) => unknown];

/** A list filter: an option whose values go to one query parameter, names resolved when `ref` is set. */
export interface FilterDef {
  flags: string;
  description: string;
  query: string;
  ref?: RefKind;
  choices?: readonly string[];
}

export interface ActionContext<O> {
  /** Connects on first use (`keys create --data-dir` works without a server). */
  readonly client: BosunClient;
  /** The object's id (names already resolved); '' for an action that takes no object. */
  id: string;
  /** The action's other positional arguments, in order. */
  args: string[];
  opts: O;
}

/** One subcommand: `bosun <resource> <name> [<object>] [args…] [options]`. */
export interface ActionDef<T> {
  name: string;
  description: string;
  /** Whether the first argument names an object of the resource (default true). */
  target?: boolean;
  args?: [name: string, description: string][];
  /** Options besides `--json`. */
  options?: (cmd: Command) => Command;
  /** `false` for an action whose output is not data (no `--json`). */
  json?: boolean;
  /**
   * Does the work; an object it returns is printed as `details` (or as JSON). A method, so an action
   * may declare the options it reads (`ActionContext<{ name: string }>`).
   */
  run(ctx: ActionContext<JsonOption & Record<string, unknown>>): Promise<T | undefined>;
}

/** What the helper needs of an SDK resource (`client.devices`, …). */
export interface SdkResource<T> {
  list(query: Record<string, unknown>): Promise<Page<T>>;
  listAll(query: Record<string, unknown>): Promise<T[]>;
  get(id: string, query?: { expand?: string[] }): Promise<T>;
}

export interface ResourceDef<T> {
  command: string;
  description: string;
  /** What one object is called in help (`device`) and what its id looks like (`dvc_...`). */
  noun: string;
  idHint: string;
  /** Set when objects may be named by name, version or slug instead of id. */
  ref?: RefKind;
  api(client: BosunClient): SdkResource<T>;
  /** The table of `list`; also the first fields of one object. */
  columns: Column<T>[];
  /** Fields shown only for one object (`get`, actions). */
  details?: Column<T>[];
  /**
   * Display fields the object itself lacks (a group's name where the API gives its id), fetched for
   * tables and fields only: `--json` prints the API's objects unchanged.
   */
  enrich?: (client: BosunClient, items: T[]) => Promise<T[]>;
  list?: {
    description: string;
    filters?: FilterDef[];
    /** Expansions fetched for the table (e.g. the device of a deployment, to show its name). */
    tableExpand?: string[];
  };
  get?: {
    description: string;
    options?: (cmd: Command) => Command;
    expand?: (opts: Record<string, unknown>) => string[] | undefined;
    /** More output after the fields (not with `--json`). */
    after?: (item: T, opts: Record<string, unknown>, client: BosunClient) => void | Promise<void>;
  };
  actions?: ActionDef<T>[];
}

/** The argument that names one object: an id, or a name where the resource has names. */
function objectArgument<T>(def: ResourceDef<T>): [string, string] {
  const by = def.ref === 'release' ? 'version' : def.ref === 'configType' ? 'slug' : 'name';
  return [`<${def.noun.replaceAll(' ', '-')}>`, def.ref ? `${def.idHint} or its ${by}` : def.idHint];
}

export function registerResource<T>(program: Command, def: ResourceDef<T>): Command {
  const group = program.command(def.command).description(def.description);
  const fields = [...def.columns, ...(def.details ?? [])];
  const target = objectArgument(def);
  const idOf = (client: BosunClient, ref: string) => (def.ref ? resolveRef(client, def.ref, ref) : ref);
  const shown = async (client: BosunClient, opts: JsonOption, items: T[]) =>
    def.enrich && !opts.json && items.length ? def.enrich(client, items) : items;

  if (def.list) {
    const { filters = [], tableExpand } = def.list;
    const cmd = addListOptions(group.command('list').description(def.list.description));
    for (const f of filters) {
      const option = new Option(f.flags, f.description);
      cmd.addOption(f.choices ? option.choices(f.choices) : option);
    }
    cmd.action(
      run(async (opts: ListOptions & Record<string, unknown>) => {
        const client = connect();
        const query: Record<string, unknown> = {};
        for (const f of filters) {
          // A list (`<x...>`), one value (`<x>`) or a switch (`--include-subgroups`).
          const values = opts[new Option(f.flags).attributeName()] as string[] | string | boolean | undefined;
          if (values === undefined) continue;
          query[f.query] = f.ref && Array.isArray(values) ? await resolveRefs(client, f.ref, values) : values;
        }
        if (tableExpand && !opts.json) query.expand = tableExpand;
        const page = await fetchList(def.api(client), opts, query);
        printList(opts, { ...page, data: await shown(client, opts, page.data) }, def.columns);
      }),
    );
  }

  if (def.get) {
    const { expand, after } = def.get;
    const cmd = group
      .command('get')
      .description(def.get.description)
      .argument(...target);
    (def.get.options?.(cmd) ?? cmd).addOption(jsonOption()).action(
      run(async (ref: string, opts: JsonOption & Record<string, unknown>) => {
        const client = connect();
        const wanted = expand?.(opts);
        const item = await def.api(client).get(await idOf(client, ref), wanted ? { expand: wanted } : {});
        const [one] = await shown(client, opts, [item]);
        printOne(opts, one!, fields);
        if (!opts.json) await after?.(one!, opts, client);
      }),
    );
  }

  for (const action of def.actions ?? []) {
    const cmd = group.command(action.name).description(action.description);
    const takesObject = action.target !== false;
    if (takesObject) cmd.argument(...target);
    for (const [name, description] of action.args ?? []) cmd.argument(name, description);
    const withOptions = action.options?.(cmd) ?? cmd;
    if (action.json !== false) withOptions.addOption(jsonOption());
    withOptions.action(
      run(async (...argv: unknown[]) => {
        // commander passes the positional arguments (a variadic one as a list), the options, the command.
        const positional = (argv.slice(0, -2) as (string | string[])[]).flat();
        const opts = argv.at(-2) as JsonOption & Record<string, unknown>;
        let client: BosunClient | undefined;
        const ctx = {
          get client() {
            client ??= connect();
            return client;
          },
          id: '',
          args: takesObject ? positional.slice(1) : positional,
          opts,
        };
        if (takesObject) ctx.id = await idOf(ctx.client, positional[0]!);
        const result = await action.run(ctx);
        if (result !== undefined) printOne(opts, (await shown(ctx.client, opts, [result]))[0]!, fields);
      }),
    );
  }
  return group;
}

/** One page, or with `--all` every page folded into one list object. */
export async function fetchList<T>(
  resource: SdkResource<T>,
  opts: ListOptions,
  query: Record<string, unknown>,
): Promise<Page<T>> {
  if (opts.all) {
    const data = await resource.listAll({ ...query, offset: opts.offset });
    return { object: 'list', data, has_more: false, offset: opts.offset, limit: data.length };
  }
  return resource.list({ ...query, offset: opts.offset, limit: opts.limit });
}
