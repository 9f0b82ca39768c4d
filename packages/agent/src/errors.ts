import { HttpError } from './client.ts';

/** One line for logs and reports: the server's refusal with its status and code, else the message. */
export function errorMessage(err: unknown): string {
  if (err instanceof HttpError) return `server refused (${err.status} ${err.code}): ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
