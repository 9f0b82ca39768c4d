import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `bosun login` stores. */
export interface StoredLogin {
  server: string;
  api_key: string;
  principal?: { id: string; name: string };
}

/** `$XDG_CONFIG_HOME/bosun/credentials.json`, else `~/.config/bosun/credentials.json`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'bosun', 'credentials.json');
}

export function readLogin(env: NodeJS.ProcessEnv = process.env): StoredLogin | null {
  let text: string;
  try {
    text = readFileSync(credentialsPath(env), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<StoredLogin>;
  if (typeof parsed.server !== 'string' || typeof parsed.api_key !== 'string') return null;
  return parsed as StoredLogin;
}

/** Writes the file with mode 0600 (directory 0700) via a rename, so a reader never sees half of it. */
export function writeLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsPath(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

export interface Connection {
  server: string;
  apiKey: string;
  /** Notices to print (which environment variable won over the stored login). */
  notices: string[];
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/**
 * Where to connect and with which key: `BOSUN_SERVER` / `BOSUN_API_KEY` win over the stored login,
 * and saying so keeps a stale variable from silently overriding a fresh `bosun login`.
 */
export function resolveConnection(env: NodeJS.ProcessEnv = process.env): Connection | null {
  const stored = readLogin(env);
  const notices: string[] = [];
  let server = stored?.server;
  let apiKey = stored?.api_key;
  if (env.BOSUN_SERVER) {
    server = env.BOSUN_SERVER;
    notices.push(`Using the server from BOSUN_SERVER (${env.BOSUN_SERVER}).`);
  }
  if (env.BOSUN_API_KEY) {
    apiKey = env.BOSUN_API_KEY;
    notices.push('Using the API key from BOSUN_API_KEY.');
  }
  if (!apiKey) return null;
  return { server: server ?? DEFAULT_SERVER, apiKey, notices };
}
