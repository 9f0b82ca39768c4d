import { canBeName, looksLikeId, pickReference } from '@bosun/core';
import type { BosunClient } from '@bosun/sdk';

/**
 * Names wherever an id is accepted (docs/decisions.md #52): a device name, a release version
 * (`v1.2.0` or `1.2.0`), a config type slug or a group name is looked up through the API's own list filters
 * (`?name=`, `?version=`, `?slug=`); core's `pickReference` decides what the matches mean.
 */
export type RefKind = 'device' | 'release' | 'configType' | 'group';

/** Ids of the objects named `ref` (at most two are needed to tell one from several). */
const BY_NAME: Record<RefKind, (client: BosunClient, ref: string) => Promise<{ id: string }[]>> = {
  device: async (c, ref) => (await c.devices.list({ name: ref, limit: 2 })).data,
  release: async (c, ref) => (await c.releases.list({ version: ref, limit: 2 })).data,
  configType: async (c, ref) => (await c.configTypes.list({ slug: ref, limit: 2 })).data,
  group: async (c, ref) => (await c.groups.list({ name: ref, limit: 2 })).data,
};

const BY_ID: Record<RefKind, (client: BosunClient, id: string) => Promise<{ id: string }[]>> = {
  device: async (c, id) => (await c.devices.list({ id, limit: 1 })).data,
  release: async (c, id) => (await c.releases.list({ id, limit: 1 })).data,
  configType: async (c, id) => (await c.configTypes.list({ id, limit: 1 })).data,
  group: async (c, id) => (await c.groups.list({ id, limit: 1 })).data,
};

/** The id `ref` names: one list request when it can be a name, none for an id of a kind whose names never look like ids. */
export async function resolveRef(client: BosunClient, kind: RefKind, ref: string): Promise<string> {
  const byName = canBeName(kind, ref) ? (await BY_NAME[kind](client, ref)).map((o) => o.id) : [];
  const idExists =
    byName.length === 1 && byName[0] !== ref && looksLikeId(kind, ref)
      ? (await BY_ID[kind](client, ref)).length > 0
      : null;
  return pickReference(kind, ref, { byName, idExists });
}

/** Several references (each value one reference: names may contain commas). */
export function resolveRefs(client: BosunClient, kind: RefKind, refs: string[]): Promise<string[]> {
  return Promise.all(refs.map((ref) => resolveRef(client, kind, ref)));
}
