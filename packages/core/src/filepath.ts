import { BosunError } from './errors.ts';

export const MAX_FILEPATH_LENGTH = 4096;

/**
 * Why a path is not an absolute, normalised POSIX path, or null when it is one. Normalised means no
 * `.`/`..` segments, no empty segments (`//`) and no trailing slash, so one file has one spelling and
 * the agent can never be steered outside the path it was given.
 */
export function filepathProblem(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_FILEPATH_LENGTH) return `must be at most ${MAX_FILEPATH_LENGTH} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters in a file name are refused on purpose
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters';
  if (path.includes('\\')) return "must use '/' as separator, not '\\'";
  if (!path.startsWith('/')) return "must be absolute (start with '/')";
  if (path === '/') return 'must name a file, not the root directory';
  if (path.endsWith('/')) return "must name a file (no trailing '/')";
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '')) return "must not contain empty segments ('//')";
  if (segments.some((s) => s === '.' || s === '..')) return "must be normalised (no '.' or '..' segments)";
  return null;
}

/** The path unchanged when it is absolute and normalised; otherwise a 400 naming the field and why. */
export function checkFilepath(field: string, path: string): string {
  const problem = filepathProblem(path);
  if (problem) {
    throw new BosunError(400, 'invalid_filepath', `${field} '${path}' ${problem}.`, { field, value: path });
  }
  return path;
}

/** Where instances of a schema go when the schema names no path (docs/decisions.md #34). */
export function defaultInstanceFilepath(configTypeSlug: string): string {
  return `/srv/bosun/configs/${configTypeSlug}.json`;
}
