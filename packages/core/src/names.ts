import { BosunError } from './errors.ts';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;

/** Display names (config types, devices): 1–48 characters after trimming, no control characters. */
export function checkName(field: string, value: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > 48) {
    throw new BosunError(400, 'invalid_name', `${field} must be 1 to 48 characters long.`, { field, value });
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw new BosunError(400, 'invalid_name', `${field} must not contain control characters.`, { field });
  }
  return name;
}

export function isSlug(value: string): boolean {
  return SLUG.test(value);
}

/** Slugs: lowercase letters, digits and '-', starting and ending with a letter or digit, 1–48 long. */
export function checkSlug(field: string, value: string): string {
  if (!isSlug(value)) {
    throw new BosunError(
      400,
      'invalid_slug',
      `${field} must be 1 to 48 lowercase letters, digits or '-', starting and ending with a letter or digit.`,
      { field, value },
    );
  }
  return value;
}
