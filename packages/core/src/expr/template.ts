import type { CallEvent } from '../event.js';
import { compileGetter, isFieldPath } from './field-path.js';

const TOKEN_RE = /\{\{\s*([^}\s]+)\s*\}\}/g;

/** Problems in a template, for config validation. */
export function templateProblems(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(TOKEN_RE)) if (!isFieldPath(m[1]!)) out.push(`"${m[1]}" is not a field path`);
  return out;
}

export function templateFields(template: string): string[] {
  return [...template.matchAll(TOKEN_RE)].map((m) => m[1]!);
}

/**
 * Compiles `calls.{{kind}}.{{attributes.channel}}` into a function of an event. A missing
 * field renders as `fallback` (default: empty string). Values are rendered with String().
 */
export function compileTemplate(template: string, fallback = ''): (event: CallEvent) => string {
  const literals: string[] = [];
  const getters: ((e: CallEvent) => unknown)[] = [];
  let last = 0;
  for (const m of template.matchAll(TOKEN_RE)) {
    literals.push(template.slice(last, m.index));
    getters.push(compileGetter(m[1]!));
    last = m.index! + m[0].length;
  }
  const tail = template.slice(last);
  if (getters.length === 0) return () => template;
  return (e) => {
    let out = '';
    for (let i = 0; i < getters.length; i++) {
      const v = getters[i]!(e);
      out += literals[i]! + (v === undefined || v === null ? fallback : String(v));
    }
    return out + tail;
  };
}
