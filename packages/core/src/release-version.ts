import { BosunError } from './errors.ts';

/**
 * Release version grammar (product-spec §7): 1–3 dot-separated non-negative integers without leading
 * zeros, an optional leading `v`, an optional pre-release `-…` and an optional build `+…`.
 */
const VERSION =
  /^v?(0|[1-9]\d*)(\.(0|[1-9]\d*)){0,2}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export const MAX_VERSION_LENGTH = 128;

export function isReleaseVersion(value: string): boolean {
  return value.length <= MAX_VERSION_LENGTH && VERSION.test(value);
}

/** Returns the version as given, or a 400 naming the field and the grammar. */
export function checkReleaseVersion(value: string): string {
  if (!isReleaseVersion(value)) {
    throw new BosunError(
      400,
      'invalid_version',
      `version '${value}' is not a release version: 1 to 3 dot-separated integers without leading zeros, an optional leading 'v', an optional '-pre.release' and '+build' (e.g. v1.2.0, 2.1, 4.3.2-rc.1).`,
      { field: 'version', value },
    );
  }
  return value;
}

/**
 * The uniqueness key of a version: `v1.2.0` and `1.2.0` name the same release, so the leading `v`
 * is dropped. Nothing else is normalised (`1.2` and `1.2.0` stay distinct, as written by people).
 */
export function releaseVersionKey(value: string): string {
  return value.startsWith('v') ? value.slice(1) : value;
}
