import { type CallEvent } from '@plumline/core';
import { templateFields, templateParts, templateProblems } from '@plumline/core/util';

const STRFTIME_RE = /%([YmdHMSj%])/g;

/** Longest file name (one path component) the common file systems take, in bytes. */
export const NAME_MAX_BYTES = 255;

/** Problems in a path template, for config validation. */
export function pathTemplateProblems(template: string): string[] {
  const out = templateProblems(template);
  if (/[/\\](\.)?$/.test(template)) out.push('the path names a directory: end it with a file name, e.g. out/calls.ndjson');
  for (const m of template.matchAll(/%(.)/g)) if (!'YmdHMSj%'.includes(m[1]!)) out.push(`"%${m[1]}" is not supported: use %Y %m %d %H %M %S %j or %%`);
  for (const part of template.split(/[/\\]/)) {
    // Its fixed text alone: what fields and times render only makes it longer.
    const fixed = Buffer.byteLength(part.replace(/\{\{[^}]*\}\}/g, '').replace(/%./g, ''));
    if (fixed > NAME_MAX_BYTES) out.push(`a path component of ${fixed} bytes can never be a file name (most file systems take ${NAME_MAX_BYTES}): shorten it`);
  }
  return out;
}

/** Why `value` cannot stand for a missing field in a path (it must be one path component), or undefined. */
export function missingFieldProblem(value: string): string | undefined {
  if (/[/\\\u0000]/.test(value) || value === '.' || value === '..') return `"${value}" must be one path component: no "/", "\\", "." or ".."`;
  if (Buffer.byteLength(value) > NAME_MAX_BYTES) return `longer than ${NAME_MAX_BYTES} bytes`;
  return undefined;
}

function dayOfYear(time: string): string {
  const d = Date.parse(time.slice(0, 10) + 'T00:00:00Z');
  const start = Date.UTC(Number(time.slice(0, 4)), 0, 1);
  return String(Math.floor((d - start) / 86_400_000) + 1).padStart(3, '0');
}

/** The event time as a canonical ISO-8601 UTC string, parsing only when it is not one already. */
function canonicalTime(time: string): string {
  if (time.length >= 20 && time[4] === '-' && time[10] === 'T' && time.endsWith('Z')) return time;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? '1970-01-01T00:00:00.000Z' : new Date(ms).toISOString();
}

/** A field value no path may render: a missing one would silently collapse or invent a directory. */
function isMissing(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

function safe(v: unknown): string {
  return String(v).replace(/[/\\\u0000]/g, '_').replace(/^\.+$/, '_');
}

/** Why a rendered path cannot be a file, or undefined when it can (checked before any system call). */
export function renderedPathProblem(path: string): string | undefined {
  for (const part of path.split(/[/\\]/)) {
    if (Buffer.byteLength(part) > NAME_MAX_BYTES) return `ENAMETOOLONG: a path component of ${Buffer.byteLength(part)} bytes (most file systems take ${NAME_MAX_BYTES})`;
  }
  return undefined;
}

/** A compiled path template. */
export interface PathTemplate {
  /** The path for an event; undefined when the event lacks a field of it (absent, null or empty) and no `missing` value was given. */
  render: (e: CallEvent) => string | undefined;
  /** The first field of the template the event lacks, for the dead letter's reason. */
  missingField: (e: CallEvent) => string | undefined;
  isStatic: boolean;
}

/**
 * Compiles `out/{{source}}/{{kind}}/%Y-%m-%d.ndjson`: `{{field}}` from the event, `%Y %m %d
 * %H %M %S %j` from the event's time in UTC. Field values are made safe for paths (`/` and
 * `..` cannot climb out of the template's directory). A missing field renders as `missing`
 * when given; otherwise the path is undefined (the sink dead-letters the event).
 */
export function compilePathTemplate(template: string, missing?: string): PathTemplate {
  const { literals, getters } = templateParts(template);
  const fields = templateFields(template);
  const missingField = (e: CallEvent) => fields.find((_f, i) => isMissing(getters[i]!(e)));
  const hasTime = /%[YmdHMSj]/.test(template);
  if (getters.length === 0 && !hasTime) {
    const fixed = template.replace(/%%/g, '%');
    return { render: () => fixed, missingField, isStatic: true };
  }
  const replacement = missing === undefined ? undefined : safe(missing);
  return {
    isStatic: false,
    missingField,
    render: (e) => {
      let path = literals[0]!;
      for (let i = 0; i < getters.length; i++) {
        const v = getters[i]!(e);
        if (isMissing(v)) {
          if (replacement === undefined) return undefined;
          path += replacement + literals[i + 1]!;
        } else path += safe(v) + literals[i + 1]!;
      }
      if (!hasTime) return path.replace(/%%/g, '%');
      if (typeof e.time !== 'string') throw new TypeError(`event time is ${Array.isArray(e.time) ? 'an array' : typeof e.time}, not an ISO-8601 string`);
      const t = canonicalTime(e.time);
      return path.replace(STRFTIME_RE, (_m, c: string) => {
        switch (c) {
          case 'Y':
            return t.slice(0, 4);
          case 'm':
            return t.slice(5, 7);
          case 'd':
            return t.slice(8, 10);
          case 'H':
            return t.slice(11, 13);
          case 'M':
            return t.slice(14, 16);
          case 'S':
            return t.slice(17, 19);
          case 'j':
            return dayOfYear(t);
          default:
            return '%';
        }
      });
    },
  };
}
