import { BosunError } from './errors.ts';
import { ID_PREFIX, type IdKind } from './ids.ts';
import { isSlug } from './names.ts';
import { isReleaseVersion } from './release-version.ts';

/**
 * References typed by people (docs/decisions.md #52): wherever an id is accepted, a device name,
 * a release version (`v1.2.0` or `1.2.0`), a config type slug or a group name is accepted too. The caller looks the
 * reference up through the list filters of the API (`?name=`, `?version=`, `?slug=`) and hands the
 * matches to `pickReference`, which decides; the lookup is I/O, the decision is this pure rule.
 */

/** What a person may name an object of each kind by, besides its id. */
export const REFERENCE_NAME: Partial<Record<IdKind, string>> = {
  device: 'name',
  release: 'version',
  configType: 'slug',
  group: 'name',
};

/** Whether the reference has the shape of an id of that kind (its prefix). */
export function looksLikeId(kind: IdKind, ref: string): boolean {
  return ref.startsWith(ID_PREFIX[kind]) && ref.length > ID_PREFIX[kind].length;
}

/**
 * Whether the reference could be the name (version, slug) of an object of that kind, i.e. whether
 * looking it up by name can find anything. Versions and slugs never contain `_`, so an id of those
 * kinds is never mistaken for one; device names may be anything (1–48 characters).
 */
export function canBeName(kind: IdKind, ref: string): boolean {
  if (kind === 'release') return isReleaseVersion(ref);
  if (kind === 'configType') return isSlug(ref);
  // Device and group names are any 1–48 characters (core `checkName`).
  if (kind === 'device' || kind === 'group') return ref.trim().length >= 1 && ref.trim().length <= 48;
  return false;
}

export interface ReferenceMatches {
  /** Ids of the objects whose name (version, slug) is the reference. */
  byName: readonly string[];
  /**
   * Whether an object has the reference as its id: `null` when not looked up (only needed when the
   * reference is id-shaped and also matched a name).
   */
  idExists: boolean | null;
}

/**
 * The one id a reference names:
 * - exactly one object has it as its name → that object, unless the reference is also the id of
 *   another object (a device named `dvc_…`) → 409 `ambiguous_reference`;
 * - no name matches and the reference is id-shaped → the reference itself (an unknown id is the
 *   server's 404 when it is used);
 * - no name matches otherwise → 404 `unknown_reference`; several names match → 409 `ambiguous_reference`.
 */
export function pickReference(kind: IdKind, ref: string, matches: ReferenceMatches): string {
  const noun = kindNoun(kind);
  const field = REFERENCE_NAME[kind] ?? 'name';
  const named = [...new Set(matches.byName)];
  if (named.length > 1) {
    throw new BosunError(
      409,
      'ambiguous_reference',
      `'${ref}' is the ${field} of ${named.length} ${noun}s (${named.join(', ')}); give the id.`,
      { kind: noun, reference: ref, ids: named },
    );
  }
  const [one] = named;
  if (one !== undefined) {
    if (one !== ref && looksLikeId(kind, ref) && matches.idExists === true) {
      throw new BosunError(
        409,
        'ambiguous_reference',
        `'${ref}' is the id of one ${noun} and the ${field} of another (${one}); give the other's id.`,
        { kind: noun, reference: ref, ids: [ref, one] },
      );
    }
    return one;
  }
  if (looksLikeId(kind, ref)) return ref;
  throw new BosunError(404, 'unknown_reference', `No ${noun} has the id or ${field} '${ref}'.`, {
    kind: noun,
    reference: ref,
    field,
  });
}

function kindNoun(kind: IdKind): string {
  return kind.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}
