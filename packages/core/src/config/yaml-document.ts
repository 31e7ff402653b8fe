import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, visit, Scalar, type Document, type Node } from 'yaml';
import { ConfigError, ConfigErrors, type SourceLocation } from '../errors.js';
import { placeholdLine, substituteScalar, type VariableReference } from './interpolate.js';

export type KeyPath = readonly (string | number)[];

/**
 * A parsed pipeline file that remembers where every value came from, so that any error
 * found later (in the pipeline schema or in a plugin's schema) can name file, line and column.
 */
export class YamlDocument {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed | undefined,
    private readonly lines: LineCounter | undefined,
    readonly value: unknown,
    /** With `allowUnset`: the variables that were unset (in order of appearance) and the key paths of the values made with them. */
    readonly unset: { readonly variables: readonly string[]; readonly paths: readonly string[] } = { variables: [], paths: [] },
  ) {}

  /**
   * Parses and interpolates `text`. Throws {@link ConfigErrors} with every located syntax and
   * interpolation error. With `allowUnset`, a variable that is unset and has no default is no
   * error: it reads as the text `${NAME}`, and `unset` says which values hold one.
   */
  static parse(text: string, file: string, env: Readonly<Record<string, string | undefined>>, options: { allowUnset?: boolean } = {}): YamlDocument {
    const refs = new Map<string, VariableReference>();
    const lines = new LineCounter();
    const unsetValue = options.allowUnset ? (name: string) => `${UNSET_MARK}${name}${UNSET_MARK}` : undefined;
    const doc = parseDocument(placeholdVariables(text, file, env, refs, unsetValue), { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const syntax = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return new ConfigError('CONFIG_YAML_SYNTAX', `${e.message.split('\n')[0]} (fix the YAML syntax)`, { location: { file, line: pos.line, column: pos.col, path: '' } });
    });
    // After the first syntax error the parser's reading of the rest is guesswork: report that one.
    if (syntax.length) throw new ConfigErrors([syntax[0]!]);
    rejectProtoKeys(doc, lines, file);
    visit(doc, {
      Scalar(_key, node) {
        if (typeof node.value !== 'string' || !node.value.includes('$') && !node.value.includes('plumlinevar')) return;
        const v = substituteScalar(node.value, node.type === Scalar.PLAIN, refs);
        if (v !== node.value) node.value = v;
      },
    });
    const value = toPlainValue(doc, lines, file);
    return unsetValue ? new YamlDocument(file, doc, lines, ...markUnset(value)) : new YamlDocument(file, doc, lines, value);
  }

  /** Wraps a plain object (the library API accepts one): errors then carry the key path only. */
  static fromObject(value: unknown, file = '<object>'): YamlDocument {
    return new YamlDocument(file, undefined, undefined, value);
  }

  /**
   * Location of the value at `path`. With `key`, the location of that key inside the map at
   * `path` (unknown keys), or of the map's own key when `key` is absent from it (missing keys).
   * A path that does not exist falls back to its nearest existing ancestor's key.
   */
  locate(path: KeyPath, key?: string): SourceLocation {
    const pathText = formatPath(key === undefined ? path : [...path, key]);
    if (!this.doc || !this.lines) return { file: this.file, line: 0, column: 0, path: pathText };
    const at = (offset: number): SourceLocation => {
      const pos = this.lines!.linePos(offset);
      return { file: this.file, line: pos.line, column: pos.col, path: pathText };
    };
    if (key !== undefined) {
      const node = this.doc.getIn(path, true) as Node | undefined;
      if (node && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key) && pair.key.range) return at(pair.key.range[0]);
      }
      return at(this.keyOffset(path));
    }
    const node = this.doc.getIn(path, true) as Node | undefined;
    if (node && 'range' in node && node.range) return at(node.range[0]);
    return at(this.keyOffset(path));
  }

  /** Offset of the key (or sequence item) that names `path` in its parent; the nearest existing one when it is missing. */
  private keyOffset(path: KeyPath): number {
    for (let depth = path.length; depth > 0; depth--) {
      const parent = this.doc!.getIn(path.slice(0, depth - 1), true) as Node | undefined;
      const last = path[depth - 1];
      if (parent && isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
        if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
      } else if (parent && isSeq(parent) && typeof last === 'number') {
        const item = parent.items[last] as Node | undefined;
        if (item && 'range' in item && item.range) return item.range[0];
      }
    }
    return 0;
  }
}

/** Brackets the name of an unset variable in a value while the document is read (a character no YAML scalar can hold). */
const UNSET_MARK = '\u0000';
const UNSET_RE = /\u0000([A-Za-z_][A-Za-z0-9_]*)\u0000/g;

/**
 * `value` with every unset variable's mark turned into the text `${NAME}`, the variables in
 * order of appearance, and the key path of every value that held one.
 */
function markUnset(value: unknown): [unknown, { variables: string[]; paths: string[] }] {
  const variables = new Set<string>();
  const paths: string[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      if (!v.includes(UNSET_MARK)) return v;
      paths.push(formatPath(path));
      return v.replace(UNSET_RE, (_m, name: string) => (variables.add(name), `\${${name}}`));
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    return v;
  };
  const out = walk(value, []);
  return [out, { variables: [...variables], paths }];
}

/** Most alias expansions a file may cause: a "billion laughs" file is refused, not expanded. */
export const MAX_ALIAS_COUNT = 100;

/** The document as plain values; alias problems (undefined, or too many expansions) are located errors. */
function toPlainValue(doc: Document.Parsed, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    let offset = 0;
    visit(doc, {
      Alias(_key, node) {
        if (isAlias(node) && node.range) {
          offset = node.range[0];
          return visit.BREAK;
        }
        return undefined;
      },
    });
    const pos = lines.linePos(offset);
    const excessive = /excessive alias/i.test((err as Error).message);
    throw new ConfigErrors([
      new ConfigError(
        'CONFIG_YAML_ALIAS',
        excessive ? `aliases expand more than ${MAX_ALIAS_COUNT} times: write the values out, or use fewer aliases` : `${(err as Error).message.split('\n')[0]}: define the anchor (&name) before its alias (*name)`,
        { location: { file, line: pos.line, column: pos.col, path: '' }, cause: err },
      ),
    ]);
  }
}

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/**
 * `text` with each `${VAR}` replaced by a placeholder that parses as a plain scalar anywhere (so
 * it works unquoted inside flow maps); values go into the parsed scalars later, so a value stays
 * one value and cannot add keys, and `count: ${COUNT}` still reads as a number. Comment lines are
 * left alone; lines keep their numbers. Throws every unset or multi-line variable, located.
 */
function placeholdVariables(text: string, file: string, env: Readonly<Record<string, string | undefined>>, refs: Map<string, VariableReference>, unsetValue?: (name: string) => string): string {
  const errors: ConfigError[] = [];
  const out = text
    .split('\n')
    .map((lineText, i) => {
      if (!lineText.includes('$') || /^\s*#/.test(lineText)) return lineText;
      const { value, missing, multiline } = placeholdLine(lineText, env, refs, unsetValue);
      const at = (column: number) => ({ file, line: i + 1, column, path: '' });
      for (const m of missing) {
        errors.push(new ConfigError('CONFIG_ENV_MISSING', `environment variable ${m.name} is not set: export it, or write \${${m.name}:-default}`, { location: at(m.column), fields: { variable: m.name } }));
      }
      for (const m of multiline) {
        errors.push(new ConfigError('CONFIG_ENV_MULTILINE', `environment variable ${m.name} holds a line break, which would change the file's structure: remove it`, { location: at(m.column), fields: { variable: m.name } }));
      }
      return value;
    })
    .join('\n');
  if (errors.length) throw new ConfigErrors(errors);
  return out;
}

/** JavaScript objects cannot hold a `__proto__` key as data: it would set the prototype, and a component so named would silently vanish. */
function rejectProtoKeys(doc: Document.Parsed, lines: LineCounter, file: string): void {
  const errors: ConfigError[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        const pos = lines.linePos(pair.key.range?.[0] ?? 0);
        errors.push(new ConfigError('CONFIG_RESERVED_KEY', '"__proto__" cannot be used as a key: rename it', { location: { file, line: pos.line, column: pos.col, path: '' } }));
      }
    },
  });
  if (errors.length) throw new ConfigErrors(errors);
}
