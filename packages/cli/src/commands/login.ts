import { BosunClient } from '@bosun/sdk';
import { nodeFetch } from '@bosun/sdk/node-fetch';
import type { Command } from 'commander';
import { jsonOption, run, UsageError } from '../api.ts';
import { credentialsPath, DEFAULT_SERVER, writeLogin } from '../credentials.ts';
import { printJson } from '../output.ts';

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description(
      'Check a server URL and API key with GET /principal, then store them (mode 0600) for later commands',
    )
    .option('-s, --server <url>', 'server URL', DEFAULT_SERVER)
    .option(
      '--api-key <key>',
      'API key (otherwise read from stdin, or prompted for without echo on a terminal)',
    )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
The login is stored in $XDG_CONFIG_HOME/bosun/credentials.json (default ~/.config/bosun/).
BOSUN_SERVER and BOSUN_API_KEY, when set, win over the stored login (with a notice): use them in CI.

Examples:
  bosun login --server https://bosun.example.com
  echo "$KEY" | bosun login --server http://127.0.0.1:8080`,
    )
    .action(
      run(async (opts: { server: string; apiKey?: string; json?: boolean }) => {
        let server: URL;
        try {
          server = new URL(opts.server);
        } catch {
          throw new UsageError(`--server '${opts.server}' is not a URL (e.g. http://127.0.0.1:8080).`);
        }
        if (server.protocol !== 'http:' && server.protocol !== 'https:') {
          throw new UsageError(`--server must be an http:// or https:// URL.`);
        }
        const apiKey = (opts.apiKey ?? (await readSecret('API key: '))).trim();
        if (!apiKey) throw new UsageError('no API key given (--api-key, stdin or the prompt).');
        const url = opts.server.replace(/\/+$/, '');
        // Checked before anything is written, so a typo never replaces a working login.
        const principal = await new BosunClient({
          baseUrl: url,
          apiKey,
          retries: 1,
          fetch: nodeFetch,
        }).principal();
        const file = writeLogin({
          server: url,
          api_key: apiKey,
          principal: { id: principal.id, name: principal.name },
        });
        if (opts.json) return printJson({ server: url, principal, credentials_file: file });
        process.stdout.write(`✓ Logged in to ${url} as ${principal.name} (${principal.id})\n`);
        process.stderr.write(`Saved to ${credentialsPath()}\n`);
      }),
    );
}

/** Reads a secret: the first line of stdin when piped, else a prompt that does not echo. */
async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += chunk;
    return text.split('\n')[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          process.stderr.write('\n');
          return resolve(value);
        }
        if (ch === '\u0003') {
          done();
          return reject(new UsageError('cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}
