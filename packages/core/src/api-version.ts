import { BosunError } from './errors.ts';

export const API_VERSION = '2026-03-09.tetons';
export const API_TRAIN = 'tetons';

/**
 * Any published date of the tetons train is interchangeable (changes inside a train are additive),
 * so `YYYY-MM-DD.tetons` with a real calendar date is accepted; anything else is another train.
 */
export function checkApiVersion(header: string | string[] | undefined): void {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') {
    throw new BosunError(
      400,
      'missing_version',
      `The Miru-Version header is required; send 'Miru-Version: ${API_VERSION}'.`,
      { header: 'Miru-Version', supported: [API_VERSION] },
    );
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})\.([a-z]+)$/.exec(value.trim());
  const validDate = match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
  if (!match || !validDate || match[4] !== API_TRAIN) {
    throw new BosunError(
      400,
      'unsupported_version',
      `Miru-Version '${value}' is not supported; this server speaks the ${API_TRAIN} train (${API_VERSION}).`,
      { header: 'Miru-Version', value, supported: [API_VERSION] },
    );
  }
}

function isCalendarDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
