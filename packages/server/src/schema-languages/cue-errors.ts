import { pointerChild } from './json-pointer.ts';
import type { ValidationIssue } from './types.ts';

const LABEL = String.raw`(?:[A-Za-z_$#][\w$#]*|\d+|"(?:[^"\\]|\\.)*")`;
const HEADER = new RegExp(String.raw`^(${LABEL}(?:\.${LABEL})*): (.*?):?$`);
const POSITION = /^\s+(\S+):(\d+):(\d+)$/;
const BOUND = /^invalid value (.+) \((?:out of bound|does not satisfy) (.+)\)$/;
const NOT_ALLOWED = /^field (.+) not allowed$/;
const CONFLICT = /^conflicting values (.+) and (.+?)(?: \(mismatched types .+\))?$/;

interface RawError {
  path: string;
  message: string;
  positions: string[];
}

/** Splits the CUE command's error text into messages with their paths and source positions. */
export function parseCueErrors(stderr: string): RawError[] {
  const out: RawError[] = [];
  for (const line of stderr.replace(/\r\n?/g, '\n').split('\n')) {
    if (!line.trim()) continue;
    const pos = POSITION.exec(line);
    if (pos && out.length) {
      out[out.length - 1]!.positions.push(`${basename(pos[1]!)}:${pos[2]}:${pos[3]}`);
      continue;
    }
    const header = HEADER.exec(line);
    if (header) out.push({ path: header[1]!, message: header[2]!, positions: [] });
    else out.push({ path: '', message: line.trim().replace(/:$/, ''), positions: [] });
  }
  return out;
}

/** `zones.0."a.b"` → `/zones/0/a.b` */
export function cuePathToPointer(path: string): string {
  if (!path) return '';
  const labels = path.match(new RegExp(LABEL, 'g')) ?? [];
  return labels.reduce((p, l) => pointerChild(p, l.startsWith('"') ? JSON.parse(l) : l), '');
}

/**
 * One issue per failing path. CUE reports a failed disjunction as one error per alternative
 * (including a default such as `| *3.5`); those are folded into one entry naming the real rule:
 * the violated bound when there is one, otherwise the alternatives the value matched none of.
 */
export function cueIssues(stderr: string, instanceFile: string): ValidationIssue[] {
  const byPath = new Map<string, RawError[]>();
  for (const e of parseCueErrors(stderr)) {
    if (/^\d+ errors in empty disjunction$/.test(e.message)) continue;
    if (e.message.startsWith('some instances are incomplete')) continue;
    const list = byPath.get(e.path) ?? [];
    list.push(e);
    byPath.set(e.path, list);
  }
  // The last schema position is the innermost: `zones: [...#Zone]` comes before the field inside #Zone.
  const schemaPos = (e: RawError) =>
    e.positions.filter((p) => !p.startsWith(`${instanceFile}:`)).at(-1) ?? '';
  const issues: ValidationIssue[] = [];
  for (const [path, errors] of byPath) {
    const pointer = cuePathToPointer(path);
    const bounds = errors.filter((e) => BOUND.test(e.message));
    const conflicts = errors.filter((e) => CONFLICT.test(e.message));
    if (bounds.length) {
      const first = bounds[0]!;
      issues.push({
        path: pointer,
        message: bounds.map((e) => e.message).join('; '),
        rule: bounds.map((e) => BOUND.exec(e.message)![2]!).join(' & '),
        schema_location: schemaPos(first),
      });
    } else if (conflicts.length && conflicts.length === errors.length) {
      const pairs = conflicts.map((e) => CONFLICT.exec(e.message)!.slice(1, 3) as [string, string]);
      // The instance's value is the one every pair shares; the others are what the schema allows.
      const counts = new Map<string, number>();
      for (const [a, b] of pairs) for (const v of new Set([a, b])) counts.set(v, (counts.get(v) ?? 0) + 1);
      const actual = [...counts].find(([, n]) => n === pairs.length)?.[0];
      const allowed = [...new Set(pairs.flat().filter((v) => v !== actual))];
      issues.push({
        path: pointer,
        message:
          actual && allowed.length > 1
            ? `${actual} is not one of ${allowed.join(' | ')}`
            : conflicts.map((e) => e.message).join('; '),
        rule: allowed.join(' | ') || conflicts[0]!.message,
        schema_location: schemaPos(conflicts[0]!),
      });
    } else if (errors.every((e) => NOT_ALLOWED.test(e.message))) {
      // A closed struct refuses an extra field: point at the field, as JSON Schema does.
      for (const e of errors) {
        const field = NOT_ALLOWED.exec(e.message)![1]!;
        issues.push({
          path: pointerChild(pointer, field.startsWith('"') ? JSON.parse(field) : field),
          message: 'field not allowed (closed struct)',
          rule: 'close',
          schema_location: schemaPos(e),
        });
      }
    } else {
      const incomplete = errors.find((e) => e.message.startsWith('incomplete value'));
      issues.push({
        path: pointer,
        message: incomplete
          ? `required value is missing (${incomplete.message})`
          : [...new Set(errors.map((e) => e.message))].join('; '),
        rule: incomplete ? incomplete.message.replace(/^incomplete value /, '') : errors[0]!.message,
        schema_location: schemaPos(errors[0]!),
      });
    }
  }
  return issues;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i === -1 ? p : p.slice(i + 1);
}
