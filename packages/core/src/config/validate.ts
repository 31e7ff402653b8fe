import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';
import { unwrapped, type AnySchema } from './schema-node.js';
import { formatPath, type KeyPath, type YamlDocument } from './yaml-document.js';

/** The keys an object schema accepts at `path`, for "did you mean" hints. */
function knownKeys(schema: AnySchema, path: KeyPath): string[] {
  let s: AnySchema | undefined = schema;
  for (let i = 0; s; ) {
    const node = unwrapped(s);
    if (i === path.length) return node.kind === 'object' ? Object.keys(node.shape) : [];
    if (node.kind === 'object') s = node.shape[String(path[i++])];
    else if (node.kind === 'array') (s = node.element), i++;
    else if (node.kind === 'record') (s = node.values), i++;
    else return [];
  }
  return [];
}

/** The schema of key `key` of an object schema (through defaults, optionals and pipes), if it has one. */
export function fieldSchema(schema: AnySchema, key: string): AnySchema | undefined {
  const node = unwrapped(schema);
  return node.kind === 'object' ? node.shape[key] : undefined;
}

/** The name among `known` closest to `name` (at most 2 edits away, or one is the other's start), for "did you mean" hints. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? 1 : editDistance(k, name);
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

/** What a missing value is, in words, by zod's expected type; for a few well-known keys, what to write. */
function missingHint(key: string, expected: unknown): string {
  if (key === 'inputs') return 'the components it reads from, e.g. inputs: [<source or transform>]';
  return ({ array: 'a list', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false', object: 'a map of keys' } as Record<string, string>)[String(expected)] ?? String(expected ?? 'a value; see docs/reference.md');
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

const typoId = (parent: readonly (string | number)[], key: string, missing = false): string => `${missing ? 'missing' : 'written'}\u0000${parent.join('\u0000')}\u0000${key}`;

/**
 * Required keys that are missing because they were written misspelled beside: for each missing
 * key, the unknown key of the same object closest to it. Both directions are indexed, so the
 * pair is told once, at the key as written (zod reports the unknown key only sometimes, after
 * the missing one, or not at all when another check stopped it first).
 */
function misspelledRequiredKeys(schema: AnySchema, value: unknown, issues: readonly z.core.$ZodIssue[]): Map<string, string> {
  const typos = new Map<string, string>();
  for (const issue of issues) {
    const rel = issue.path as (string | number)[];
    if ((issue.code !== 'invalid_type' && issue.code !== 'invalid_union') || rel.length === 0 || valueAt(value, rel) !== undefined) continue;
    const parent = rel.slice(0, -1);
    const obj = valueAt(value, parent);
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) continue;
    const key = String(rel[rel.length - 1]);
    const known = knownKeys(schema, parent);
    const unknown = Object.keys(obj).filter((k) => !known.includes(k) && !typos.has(typoId(parent, k)));
    const written = unknown.find((k) => closestName(key, [k]) !== undefined);
    if (written === undefined) continue;
    typos.set(typoId(parent, key, true), written);
    typos.set(typoId(parent, written), key);
  }
  return typos;
}

/**
 * Validates `value` (found at `basePath` of `doc`) with `schema`. Returns the parsed output,
 * or throws nothing and returns the located errors: one per problem, each naming file,
 * line, column and key path, and saying what to do.
 */
export function validateConfig<S extends AnySchema>(
  schema: S,
  value: unknown,
  doc: YamlDocument,
  basePath: KeyPath,
): { ok: true; data: z.output<S> } | { ok: false; errors: ConfigError[] } {
  const result = z.safeParse(schema, value);
  if (result.success) return { ok: true, data: result.data };
  const errors: ConfigError[] = [];
  const typos = misspelledRequiredKeys(schema, value, result.error.issues);
  for (const issue of result.error.issues) {
    const rel = issue.path as (string | number)[];
    const path = [...basePath, ...rel];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, rel);
      for (const key of issue.keys) {
        if (typos.has(typoId(rel, key))) continue;
        const close = known.filter((k) => editDistance(k, key) <= 2);
        const hint = close.length ? ` (did you mean "${close[0]}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : '';
        errors.push(
          new ConfigError('CONFIG_UNKNOWN_KEY', `unknown key "${key}": remove it or fix its spelling${hint}`, {
            location: doc.locate(path, key),
            fields: { key },
          }),
        );
      }
      continue;
    }
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && valueAt(value, rel) === undefined) {
      const key = String(rel[rel.length - 1] ?? '');
      const typo = typos.get(typoId(rel.slice(0, -1), key, true));
      if (typo !== undefined) {
        // One error where the mistake is: the key as written, and the required key it stands for.
        errors.push(
          new ConfigError('CONFIG_UNKNOWN_KEY', `unknown key "${typo}": did you mean "${key}"? ("${key}" is required)`, {
            location: doc.locate(path.slice(0, -1), typo),
            fields: { key: typo },
          }),
        );
        continue;
      }
      errors.push(
        new ConfigError('CONFIG_MISSING_KEY', `missing required key "${key}": add it (${missingHint(key, (issue as { expected?: unknown }).expected)})`, {
          location: doc.locate(path.slice(0, -1), key),
          fields: { key },
        }),
      );
      continue;
    }
    const last = path[path.length - 1];
    // Custom checks (conditions, templates) name a key; point at it rather than its value, unless
    // the check says the value is what to change (a duration or size: `params.at: 'value'`).
    const params = (issue as { params?: { at?: string; holdsForAnyVariable?: boolean } }).params;
    const atValue = params?.at === 'value';
    const location = issue.code === 'custom' && typeof last === 'string' && !atValue ? doc.locate(path.slice(0, -1), last) : doc.locate(path);
    errors.push(
      new ConfigError('CONFIG_INVALID_VALUE', `${issue.message.replace(/^Invalid input: /, 'invalid value: ')}`, {
        location,
        fields: { path: formatPath(path), ...(params?.holdsForAnyVariable ? { holdsForAnyVariable: true } : {}) },
      }),
    );
  }
  return { ok: false, errors };
}
