import type { CallEvent } from '../event.js';
import { editDistance } from '../util/edit-distance.js';
import { compileGetter, isFieldPath, type Getter } from './field-path.js';

const TOKEN_RE = /\{\{\s*([^}\s]+)\s*\}\}/g;

/**
 * What a template can read, per top-level field of a CallEvent: a value of its own (`scalar`), or
 * fields under it (`object`: attributes always, raw when the source kept an object). Written as a
 * record of every key so that a field added to CallEvent must be added here too.
 */
const EVENT_FIELDS: Readonly<Record<keyof CallEvent, 'string' | 'number' | 'object' | 'any'>> = {
  id: 'string',
  source: 'string',
  kind: 'string',
  time: 'string',
  endTime: 'string',
  direction: 'string',
  from: 'string',
  to: 'string',
  durationSec: 'number',
  attributes: 'object',
  raw: 'any',
};
const FIELD_NAMES = Object.keys(EVENT_FIELDS);
const READABLE = `${FIELD_NAMES.filter((f) => EVENT_FIELDS[f as keyof CallEvent] !== 'object' && f !== 'raw').join(', ')}, attributes.<name>, raw.<name>`;

/**
 * Why no event can have `path` (a field path a template or a condition reads), or undefined when
 * one can. A misspelt field would render nothing for every event: a sink would dead-letter them
 * all, a path write them all under one made-up name, a route send none of them its way.
 */
export function eventFieldProblem(path: string, reader: 'template' | 'condition' = 'template'): string | undefined {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  const type = Object.hasOwn(EVENT_FIELDS, head) ? EVENT_FIELDS[head as keyof CallEvent] : undefined;
  if (type === undefined) {
    const distance = (f: string) => editDistance(f.toLowerCase(), head.toLowerCase());
    const close = FIELD_NAMES.filter((f) => distance(f) <= 2).sort((a, b) => distance(a) - distance(b))[0];
    const hint = close ? ` (did you mean "${[close, ...rest].join('.')}"?)` : '';
    return `"${path}" is not a field of an event${hint}: a ${reader} reads ${READABLE} (a field a transform adds goes under attributes.)`;
  }
  if (rest.length === 0 && type === 'object' && reader === 'template') return `"${path}" is an object: name one of its fields, e.g. ${head}.name`;
  if (rest.length > 0 && (type === 'string' || type === 'number')) return `"${path}": ${head} is a ${type} and has no fields: ${reader === 'template' ? `write {{${head}}}` : `test ${head} itself`}`;
  return undefined;
}

/**
 * The `params` of a schema issue that holds whatever value the `${VAR}`s in the checked text
 * stand for: validate --no-env reports it even where the value is made with an unset variable.
 */
export const TEMPLATE_ISSUE = { holdsForAnyVariable: true } as const;

/**
 * Problems in a template, for config validation: placeholders that are unclosed, empty, not
 * field paths, or fields no event can have (see {@link eventFieldProblem}). Each holds whatever
 * text a `${VAR}` in the template stands for (one left unset reads as `${NAME}`: what it could
 * change is not checked), so they are reported with {@link TEMPLATE_ISSUE} even without the
 * environment (validate --no-env).
 */
export function templateProblems(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(TOKEN_RE)) {
    // A variable left unset (validate --no-env reads it as the text `${NAME}`) inside a
    // placeholder: which field it names is not known yet.
    if (m[1]!.includes('${')) continue;
    const problem = isFieldPath(m[1]!) ? eventFieldProblem(m[1]!) : `"${m[1]}" is not a field path`;
    if (problem) out.push(problem);
  }
  // An unset variable's value may open or close a placeholder: the braces are checked once it is known.
  if (template.includes('${')) return out;
  // What is left once every well-formed placeholder is taken out must hold no brace pair.
  const rest = template.replace(TOKEN_RE, '');
  if (/\{\{\s*\}\}/.test(rest)) out.push('empty placeholder "{{ }}": put a field path in it, e.g. {{kind}}');
  else if (rest.includes('{{')) out.push('unclosed placeholder: "{{" without "}}" (write {{field}})');
  else if (rest.includes('}}')) out.push('"}}" without "{{" (write {{field}})');
  return out;
}

/** The event fields a `{{…}}` template reads, e.g. for checking them at start. */
export function templateFields(template: string): string[] {
  return [...template.matchAll(TOKEN_RE)].map((m) => m[1]!);
}

/**
 * Compiles a template into a function that renders it, or returns undefined when the event lacks
 * one of its fields (null, undefined or absent) — for callers that dead-letter such events
 * instead of writing a made-up value.
 */
export function compileStrictTemplate(template: string): (event: CallEvent) => string | undefined {
  return compileWith(template, undefined);
}

/**
 * The one tokenizer of `{{field}}` templates: the literal text around each placeholder (one more
 * than the placeholders) and a getter per placeholder. Renderers with their own rules for values
 * (the file sink's path-safe values) build on it.
 */
export function templateParts(template: string): { literals: string[]; getters: Getter[] } {
  const literals: string[] = [];
  const getters: Getter[] = [];
  let last = 0;
  for (const m of template.matchAll(TOKEN_RE)) {
    literals.push(template.slice(last, m.index));
    getters.push(compileGetter(m[1]!));
    last = m.index! + m[0].length;
  }
  literals.push(template.slice(last));
  return { literals, getters };
}

/**
 * Compiles `calls.{{kind}}.{{attributes.channel}}` into a function of an event. A missing
 * field renders as `fallback` (default: empty string). Values are rendered with String().
 */
export function compileTemplate(template: string, fallback = ''): (event: CallEvent) => string {
  return compileWith(template, fallback) as (event: CallEvent) => string;
}

/** One renderer for both: a missing field renders as `fallback`, or (undefined) makes the result undefined. */
function compileWith(template: string, fallback: string | undefined): (event: CallEvent) => string | undefined {
  const { literals, getters } = templateParts(template);
  if (getters.length === 0) return () => template;
  return (e) => {
    let out = literals[0]!;
    for (let i = 0; i < getters.length; i++) {
      const v = getters[i]!(e);
      if (v === undefined || v === null) {
        if (fallback === undefined) return undefined;
        out += fallback + literals[i + 1]!;
      } else out += String(v) + literals[i + 1]!;
    }
    return out;
  };
}
