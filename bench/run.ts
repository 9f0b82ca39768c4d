/**
 * `npm run bench [name...]`: runs every `bench/*.bench.ts` (or the named ones) one after another and
 * prints what each reports. A bench file default-exports `{ name, run(): Promise<BenchResult[]> }`.
 * Results go to stdout as a table and, with `--json FILE`, to a JSON file for BENCHMARKS.md.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

export interface Bench {
  name: string;
  run(): Promise<BenchResult[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let jsonFile: string | undefined;
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--json') jsonFile = args[++i];
  else names.push(args[i]!);
}
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => names.length === 0 || names.some((n) => f.includes(n)))
  .sort();

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`machine: ${machine}`);
const all: Record<string, BenchResult[]> = {};
for (const file of files) {
  const bench = (await import(join(here, file))).default as Bench;
  console.log(`\n## ${bench.name} (${file})`);
  const results = await bench.run();
  all[bench.name] = results;
  for (const r of results)
    console.log(
      `  ${r.metric.padEnd(48)} ${String(r.value).padStart(12)} ${r.unit}${r.note ? `  (${r.note})` : ''}`,
    );
}
if (jsonFile)
  writeFileSync(jsonFile, JSON.stringify({ machine, at: new Date().toISOString(), results: all }, null, 2));
