import { BosunError } from '@bosun/core';
import { BosunApiError, BosunClient, BosunNetworkError } from '@bosun/sdk';
import { nodeFetch } from '@bosun/sdk/node-fetch';
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveConnection } from './credentials.ts';
import { cell, printFields, printJson, printTable } from './output.ts';
import { CLI_VERSION } from './version.ts';

/** A wrong invocation the parser cannot see (exit code 2, like commander's own usage errors). */
export class UsageError extends Error {}

/** The client for the stored login or the environment; notices go to stderr so stdout stays data. */
export function connect(): BosunClient {
  const conn = resolveConnection();
  if (!conn) {
    throw new Error(
      'Not logged in and no API key: run `bosun login --server URL` or set BOSUN_API_KEY (and BOSUN_SERVER).',
    );
  }
  for (const notice of conn.notices) process.stderr.write(`${notice}\n`);
  return new BosunClient({
    baseUrl: conn.server,
    apiKey: conn.apiKey,
    userAgent: `bosun-cli/${CLI_VERSION}`,
    // A command is one short process: undici's start-up would be most of its time (nodeFetch).
    fetch: nodeFetch,
  });
}

/** A type, not an interface: an action's own options type stays assignable to a plain record. */
export type JsonOption = { json?: boolean };

export const jsonOption = () => new Option('--json', 'print JSON (the API objects) instead of a table');

/**
 * Wraps a command action: API errors are printed from their envelope (exit 1), usage errors exit 2.
 * In `--json` mode the envelope itself goes to stderr so scripts can parse it.
 */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const json = Boolean((cmd?.opts?.() as JsonOption | undefined)?.json);
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof UsageError) {
        // Through commander, so the help hint and exit code 2 match its own usage errors.
        cmd.error(`error: ${err.message}`, { exitCode: 2, code: 'bosun.usage' });
      }
      if (err instanceof CommanderError) throw err;
      process.exitCode = 1;
      if (err instanceof BosunApiError) {
        if (json) printJson(err.envelope, process.stderr);
        else process.stderr.write(describeApiError(err));
        return;
      }
      if (err instanceof BosunError) {
        // A rule the CLI checks itself before calling the API (names, the deploy plan): same shape.
        const envelope = { error: { code: err.code, message: err.message, params: err.params } };
        if (json) printJson(envelope, process.stderr);
        else process.stderr.write(describeError(envelope.error, err.code));
        return;
      }
      if (err instanceof BosunNetworkError) {
        process.stderr.write(`error: cannot reach the server: ${err.message}\n`);
        return;
      }
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
}

export function describeApiError(err: BosunApiError): string {
  return describeError(err, `${err.code}, HTTP ${err.status}`);
}

/** An error envelope as readable lines: the message, then each param (lists a line per item). */
function describeError(err: { message: string; params: Record<string, unknown> }, tag: string): string {
  const lines = [`error: ${err.message} (${tag})`];
  for (const [key, value] of Object.entries(err.params)) {
    // Lists (e.g. schema violations) get a line each, so every path is readable in a CI log.
    if (Array.isArray(value) && value.some((v) => v && typeof v === 'object')) {
      lines.push(`  ${key}:`);
      for (const item of value) {
        const v = item as { path?: unknown; message?: unknown };
        lines.push(
          `    - ${v.path !== undefined && v.message !== undefined ? `${v.path}: ${v.message}` : cell(item)}`,
        );
      }
    } else lines.push(`  ${key}: ${cell(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A list printed as a table, or as the API's list object with `--json`. */
export function printList<T>(
  opts: JsonOption,
  page: { object?: 'list'; data: T[]; has_more?: boolean; total_count?: number },
  columns: [header: string, value: (item: T) => unknown][],
): void {
  if (opts.json) {
    printJson(page);
    return;
  }
  printTable(
    columns.map(([h]) => h),
    page.data.map((item) => columns.map(([, value]) => cell(value(item)))),
  );
  if (page.has_more) process.stderr.write('(more items: use --all, or --offset/--limit)\n');
}

/** One object as fields, or as the API object with `--json`. */
export function printOne<T>(
  opts: JsonOption,
  item: T,
  fields: [label: string, value: (item: T) => unknown][],
) {
  if (opts.json) {
    printJson(item);
    return;
  }
  printFields(fields.map(([label, value]) => [label, value(item)]));
}

/** Paging options shared by every `list` command. */
export function addListOptions(cmd: Command): Command {
  return cmd
    .option('--limit <n>', 'items per page (1..100)', parseCount, 20)
    .option('--offset <n>', 'items to skip', parseCount, 0)
    .option('--all', 'fetch every page')
    .addOption(jsonOption());
}

export interface ListOptions extends JsonOption {
  limit: number;
  offset: number;
  all?: boolean;
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a non-negative integer.`);
  return Number(value);
}

/** `500ms`, `5s`, `2m` or plain seconds, in milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`'${value}' is not a duration (e.g. 500ms, 5s, 2m).`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}
