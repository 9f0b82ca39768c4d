import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The server's layers (ARCHITECTURE.md; docs/decisions.md #96): routes import http/, views and
 * storage but never another route; views never import routes; storage, the webhook emitters and the
 * wire serializers below them never import views or routes. Checked on the import statements.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of the file (type-only ones included), as a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(dirname(file), s)));
}

const layer = (path: string) => path.split('/')[0]!;
const edges = sourceFiles(SRC).flatMap((file) => {
  const from = relative(SRC, file);
  return importsOf(file).map((to) => ({ from, to }));
});
const violations = (fromLayers: string[], toLayers: string[], sameLayerToo = false) =>
  edges
    .filter((e) => fromLayers.includes(layer(e.from)) && toLayers.includes(layer(e.to)))
    .filter((e) => sameLayerToo || layer(e.from) !== layer(e.to))
    .map((e) => `${e.from} → ${e.to}`);

describe('server layering', () => {
  it('finds the imports it checks', () => {
    expect(edges.some((e) => e.from === 'routes/devices.ts' && e.to === 'storage/device-selection.ts')).toBe(
      true,
    );
  });

  it('routes never import another route', () => {
    expect(
      edges.filter((e) => layer(e.from) === 'routes' && layer(e.to) === 'routes').map((e) => e.to),
    ).toEqual([]);
  });

  it('views never import routes', () => {
    expect(violations(['views'], ['routes'])).toEqual([]);
  });

  it('storage, webhooks and wire never import views or routes', () => {
    expect(violations(['storage', 'webhooks', 'wire', 'db'], ['views', 'routes'])).toEqual([]);
  });

  it('wire serializers depend on nothing of the server but db row types', () => {
    expect(edges.filter((e) => layer(e.from) === 'wire' && !['wire', 'db'].includes(layer(e.to)))).toEqual(
      [],
    );
  });
});
