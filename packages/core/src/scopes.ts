/**
 * Authorisation scopes of the platform API (docs/decisions.md #14): `resource:action`, where `manage`
 * grants every action of its resource and no other action implies another (`write` does not imply
 * `read`).
 */
export const SCOPE_ACTIONS = {
  /** Extension (`/api_keys`): only `api_keys:manage`, since reading keys is already power over them. */
  api_keys: [],
  config_instances: ['read', 'write'],
  config_schemas: ['read', 'write'],
  config_types: ['read', 'write'],
  deployments: ['read', 'write', 'stage', 'deploy', 'archive'],
  devices: ['read', 'write', 'provision', 'delete'],
  git_commits: ['read', 'write'],
  /** Groups and device tags (Miru `2026-08-17` has `groups:{manage,read,write}`). */
  groups: ['read', 'write'],
  releases: ['read', 'write'],
  /** Extension (`/rollouts`): `write` creates, pauses, resumes and aborts. */
  rollouts: ['read', 'write'],
  /** Extension (`/webhook_endpoints`). */
  webhooks: ['read', 'write'],
} as const;

export type ScopeResource = keyof typeof SCOPE_ACTIONS;
export const SCOPE_RESOURCES = Object.keys(SCOPE_ACTIONS) as ScopeResource[];

/** Every scope a key can hold, `manage` first for each resource. */
export const ALL_SCOPES: string[] = SCOPE_RESOURCES.flatMap((r) => [
  `${r}:manage`,
  ...SCOPE_ACTIONS[r].map((a) => `${r}:${a}`),
]);

/** An admin key holds `manage` of every resource, which implies every other scope. */
export const ADMIN_SCOPES: string[] = SCOPE_RESOURCES.map((r) => `${r}:manage`);

export function isKnownScope(scope: string): boolean {
  return ALL_SCOPES.includes(scope);
}

/** True when `granted` contains `required` itself or the `manage` scope of its resource. */
export function grants(granted: readonly string[], required: string): boolean {
  if (granted.includes(required)) return true;
  const resource = required.slice(0, required.indexOf(':'));
  return granted.includes(`${resource}:manage`);
}

/** True when `granted` satisfies at least one of `anyOf` (an empty list needs no scope). */
export function grantsAny(granted: readonly string[], anyOf: readonly string[]): boolean {
  return anyOf.length === 0 || anyOf.some((s) => grants(granted, s));
}

/**
 * The requested scopes `granted` does not cover: a key may only hand out what it holds itself, so
 * `devices:manage` can mint `devices:read` but `devices:read` cannot mint `devices:manage`.
 */
export function scopesNotHeld(granted: readonly string[], requested: readonly string[]): string[] {
  return requested.filter((s) => !grants(granted, s));
}

/** Parses a comma-separated scope list (CLI input); unknown scopes are returned separately. */
export function parseScopeList(text: string): { scopes: string[]; unknown: string[] } {
  const items = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  return { scopes: items.filter(isKnownScope), unknown: items.filter((s) => !isKnownScope(s)) };
}
