import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import YAML from 'yaml';

export type SchemaLanguage = 'jsonschema' | 'cue';
export type SchemaFormat = 'json' | 'yaml' | 'cue';

export interface SchemaAnnotations {
  configType: string;
  instanceFilepath?: string | undefined;
}

/** One schema to publish: a JSON Schema file, or every file of one CUE package. */
export interface SchemaUnit {
  language: SchemaLanguage;
  format: SchemaFormat;
  /** Absolute paths of the schema's files (the annotated one first). */
  files: string[];
  /** The file that carries the annotations. */
  annotatedFile: string;
  annotations: SchemaAnnotations;
  /** The JSON Schema `title`, used as the config type's name when the type must be created. */
  title?: string | undefined;
  documents: { name: string; data: string }[];
}

/** Language and format follow the extension (docs/decisions.md #34). */
export function formatOf(file: string): { language: SchemaLanguage; format: SchemaFormat } | null {
  switch (extname(file).toLowerCase()) {
    case '.json':
      return { language: 'jsonschema', format: 'json' };
    case '.yaml':
    case '.yml':
      return { language: 'jsonschema', format: 'yaml' };
    case '.cue':
      return { language: 'cue', format: 'cue' };
    default:
      return null;
  }
}

/** `x-miru-config-type` / `x-miru-instance-filepath` of a parsed JSON Schema (null when unannotated). */
export function jsonSchemaAnnotations(doc: unknown, file: string): SchemaAnnotations | null {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`${file}: a JSON Schema must be an object.`);
  }
  const d = doc as Record<string, unknown>;
  const configType = d['x-miru-config-type'];
  const path = d['x-miru-instance-filepath'];
  if (configType === undefined) return null;
  if (typeof configType !== 'string' || !configType) {
    throw new Error(`${file}: x-miru-config-type must be a non-empty string (a config type slug).`);
  }
  if (path !== undefined && typeof path !== 'string') {
    throw new Error(`${file}: x-miru-instance-filepath must be a string.`);
  }
  return { configType, instanceFilepath: path as string | undefined };
}

const CUE_ATTRIBUTE = /^[ \t]*@miru\(([^)]*)\)/m;
const CUE_PACKAGE = /^[ \t]*package[ \t]+([A-Za-z_#$][A-Za-z0-9_#$]*)/m;

/** The `package` clause of a CUE file (null when it has none). */
export function cuePackage(source: string): string | null {
  return CUE_PACKAGE.exec(stripCueComments(source))?.[1] ?? null;
}

/**
 * The file-level `@miru(config_type="…", instance_filepath="…")` attribute of a CUE file (null when
 * it has none). Keys are `key="value"` pairs separated by commas; unknown keys are refused so a typo
 * does not silently drop a setting.
 */
export function cueAnnotations(source: string, file: string): SchemaAnnotations | null {
  const match = CUE_ATTRIBUTE.exec(stripCueComments(source));
  if (!match) return null;
  const values: Record<string, string> = {};
  const body = match[1]!.trim();
  const pair = /\s*([a-z_]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  // biome-ignore lint/suspicious/noAssignInExpressions: a sticky regex walks the pairs in order
  while ((m = pair.exec(body)) !== null) {
    values[m[1]!] = JSON.parse(`"${m[2]}"`);
    consumed = pair.lastIndex;
    if (consumed >= body.length) break;
  }
  if (consumed < body.length)
    throw new Error(`${file}: cannot read @miru(${body}): expected key="value" pairs.`);
  const unknown = Object.keys(values).filter((k) => k !== 'config_type' && k !== 'instance_filepath');
  if (unknown.length) throw new Error(`${file}: unknown @miru key(s): ${unknown.join(', ')}.`);
  if (!values.config_type) throw new Error(`${file}: @miru(...) needs config_type="<slug>".`);
  return { configType: values.config_type, instanceFilepath: values.instance_filepath };
}

function stripCueComments(source: string): string {
  return source.replace(/\/\/[^\n]*/g, '');
}

/** Every schema file below a directory (recursively; hidden directories skipped), sorted. */
export function scanSchemaDir(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && formatOf(path)) found.push(path);
    }
  };
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dir} is not a directory.`);
  walk(resolve(dir));
  return found;
}

/**
 * Reads the schema files into units. JSON Schema files must each be annotated. CUE files are grouped
 * by directory and package; exactly one file of each package carries the annotation.
 */
export function loadSchemaUnits(files: string[]): SchemaUnit[] {
  const units: SchemaUnit[] = [];
  const cueGroups = new Map<string, { path: string; source: string }[]>();
  for (const path of [...new Set(files.map((f) => resolve(f)))]) {
    const kind = formatOf(path);
    if (!kind) throw new Error(`${path}: unknown schema file extension (use .json, .yaml, .yml or .cue).`);
    const source = readFileSync(path, 'utf8');
    if (kind.language === 'cue') {
      const pkg = cuePackage(source);
      if (!pkg) throw new Error(`${path}: a CUE schema file needs a package clause.`);
      const key = `${dirname(path)}\0${pkg}`;
      cueGroups.set(key, [...(cueGroups.get(key) ?? []), { path, source }]);
      continue;
    }
    let doc: unknown;
    try {
      doc = kind.format === 'json' ? JSON.parse(source) : YAML.parse(source);
    } catch (err) {
      throw new Error(`${path}: not valid ${kind.format.toUpperCase()}: ${(err as Error).message}`);
    }
    const annotations = jsonSchemaAnnotations(doc, path);
    if (!annotations) throw new Error(`${path}: missing x-miru-config-type (the config type slug).`);
    const title = (doc as Record<string, unknown>).title;
    units.push({
      ...kind,
      files: [path],
      annotatedFile: path,
      annotations,
      title: typeof title === 'string' ? title : undefined,
      documents: [{ name: basename(path), data: source }],
    });
  }
  for (const [key, members] of cueGroups) {
    const [dir, pkg] = key.split('\0') as [string, string];
    const annotated = members
      .map((m) => ({ ...m, annotations: cueAnnotations(m.source, m.path) }))
      .filter((m) => m.annotations);
    if (annotated.length !== 1) {
      throw new Error(
        `CUE package ${pkg} in ${dir}: exactly one file must carry @miru(config_type=...), found ${annotated.length}${annotated.length ? ` (${annotated.map((a) => basename(a.path)).join(', ')})` : ''}.`,
      );
    }
    const head = annotated[0]!;
    const ordered = [head, ...members.filter((m) => m.path !== head.path)];
    units.push({
      language: 'cue',
      format: 'cue',
      files: ordered.map((m) => m.path),
      annotatedFile: head.path,
      annotations: head.annotations!,
      documents: ordered.map((m) => ({ name: basename(m.path), data: m.source })),
    });
  }
  return units;
}

/**
 * The files named by `--schema FILE` and `--schemas DIR`. A single `.cue` file brings the other files
 * of its package in the same directory, since a CUE package is one schema.
 */
export function collectSchemaFiles(schemaFiles: string[], schemaDirs: string[]): string[] {
  const files: string[] = [];
  for (const dir of schemaDirs) files.push(...scanSchemaDir(dir));
  for (const file of schemaFiles) {
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new Error(`${file}: no such file.`);
    files.push(resolve(file));
    if (formatOf(file)?.language === 'cue') {
      const pkg = cuePackage(readFileSync(file, 'utf8'));
      const dir = dirname(resolve(file));
      for (const sibling of readdirSync(dir)) {
        const path = join(dir, sibling);
        if (
          extname(sibling) === '.cue' &&
          path !== resolve(file) &&
          cuePackage(readFileSync(path, 'utf8')) === pkg
        ) {
          files.push(path);
        }
      }
    }
  }
  return [...new Set(files)];
}
