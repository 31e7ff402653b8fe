import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, visit, type Document, type Node } from 'yaml';
import { ConfigError, ConfigErrors, type SourceLocation } from '../errors.js';
import { interpolate } from './interpolate.js';

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
  ) {}

  /** Parses and interpolates `text`. Throws {@link ConfigErrors} with every located syntax and interpolation error. */
  static parse(text: string, file: string, env: Readonly<Record<string, string | undefined>>): YamlDocument {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const errors: ConfigError[] = [];
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      errors.push(
        new ConfigError('CONFIG_YAML_SYNTAX', `${e.message.split('\n')[0]} (fix the YAML syntax)`, {
          location: { file, line: pos?.line ?? 1, column: pos?.col ?? 1, path: '' },
        }),
      );
    }
    if (errors.length) throw new ConfigErrors(errors);
    visit(doc, {
      Scalar(_key, node, path) {
        if (typeof node.value !== 'string' || !node.value.includes('$')) return;
        const { value, missing } = interpolate(node.value, env);
        for (const name of missing) {
          const pos = lines.linePos(node.range?.[0] ?? 0);
          errors.push(
            new ConfigError('CONFIG_ENV_MISSING', `environment variable ${name} is not set: export it, or write \${${name}:-default}`, {
              location: { file, line: pos.line, column: pos.col, path: pathOf(path as readonly unknown[], node) },
              fields: { variable: name },
            }),
          );
        }
        node.value = value;
      },
    });
    if (errors.length) throw new ConfigErrors(errors);
    return new YamlDocument(file, doc, lines, doc.toJS({ maxAliasCount: 100 }) ?? {});
  }

  /** Wraps a plain object (the library API accepts one): errors then carry the key path only. */
  static fromObject(value: unknown, file = '<object>'): YamlDocument {
    return new YamlDocument(file, undefined, undefined, value);
  }

  /**
   * Location of the value at `path`. With `key`, the location of that key inside the map at
   * `path` (for unknown keys). Falls back to the nearest existing ancestor.
   */
  locate(path: KeyPath, key?: string): SourceLocation {
    const fullPath = key === undefined ? path : [...path, key];
    const pathText = formatPath(fullPath);
    if (!this.doc || !this.lines) return { file: this.file, line: 0, column: 0, path: pathText };
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.doc.getIn(path.slice(0, depth), true) as Node | undefined;
      if (!node || !('range' in node) || !node.range) continue;
      let offset = node.range[0];
      if (depth === path.length && key !== undefined && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      } else if (depth < path.length || key !== undefined) {
        // The value itself is missing: point at the key of the nearest existing map entry.
        const parent = depth > 0 ? (this.doc.getIn(path.slice(0, depth - 1), true) as Node | undefined) : undefined;
        if (parent && isMap(parent)) {
          const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[depth - 1]);
          if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
        }
      }
      const pos = this.lines.linePos(offset);
      return { file: this.file, line: pos.line, column: pos.col, path: pathText };
    }
    return { file: this.file, line: 1, column: 1, path: pathText };
  }
}

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function pathOf(ancestors: readonly unknown[], _node: unknown): string {
  const parts: (string | number)[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i];
    if (isPair(a) && isScalar(a.key)) parts.push(String(a.key.value));
    else if (isSeq(a)) {
      const next = ancestors[i + 1] ?? _node;
      parts.push(a.items.indexOf(next as never));
    }
  }
  return formatPath(parts);
}
