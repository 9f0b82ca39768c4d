/**
 * `node --import tsx bench/deployments/profile-summary.ts FILE.cpuprofile [N]`: self time of a V8
 * CPU profile (`node --cpu-prof`) summed per module — an npm package, a Bosun source file, or a
 * node: internal — and the top N functions, so a profile can be read (and quoted) without a viewer.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

export function moduleOf(url: string): string {
  if (!url) return '(native/gc/idle)';
  if (url.startsWith('node:')) return url.split('/')[0]!.replace(/:.*$/, ':internal');
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const pkg = /\/packages\/([^/]+)\/(.*)$/.exec(url);
  if (pkg) return `@bosun/${pkg[1]} ${pkg[2]}`;
  return url.replace(/^file:\/\//, '');
}

export function summarise(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const perModule = new Map<string, number>();
  const perFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || '(anonymous)';
    const mod = ['(idle)', '(program)', '(garbage collector)'].includes(fn) ? fn : moduleOf(n.callFrame.url);
    perModule.set(mod, (perModule.get(mod) ?? 0) + us);
    const key = `${fn}  ${mod}:${n.callFrame.lineNumber + 1}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  }
  const idle = perModule.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const lines = [`total ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (shares of busy):`];
  for (const [m, us] of [...perModule]
    .filter(([m]) => m !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    lines.push(`  ${pct(us)}  ${m}`);
  lines.push('top functions:');
  for (const [f, us] of [...perFunction]
    .filter(([f]) => !f.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    lines.push(`  ${pct(us)}  ${f}`);
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  console.log(summarise(process.argv[2]!, Number(process.argv[3] ?? 25)));
}
