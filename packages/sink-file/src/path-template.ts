import { type CallEvent } from '@plumline/core';
import { templateParts, templateProblems } from '@plumline/core/util';

const STRFTIME_RE = /%([YmdHMSj%])/g;

/** Longest file name (one path component) the common file systems take, in bytes. */
export const NAME_MAX_BYTES = 255;

/** Problems in a path template, for config validation. */
export function pathTemplateProblems(template: string): string[] {
  const out = templateProblems(template);
  if (/[/\\](\.)?$/.test(template)) out.push('the path names a directory: end it with a file name, e.g. out/calls.ndjson');
  for (const m of template.matchAll(/%(.)/g)) if (!'YmdHMSj%'.includes(m[1]!)) out.push(`"%${m[1]}" is not supported: use %Y %m %d %H %M %S %j or %%`);
  return out;
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

function safe(v: unknown): string {
  if (v === undefined || v === null || v === '') return 'unknown';
  return String(v).replace(/[/\\\u0000]/g, '_').replace(/^\.+$/, '_');
}

/** Why a rendered path cannot be a file, or undefined when it can (checked before any system call). */
export function renderedPathProblem(path: string): string | undefined {
  for (const part of path.split(/[/\\]/)) {
    if (Buffer.byteLength(part) > NAME_MAX_BYTES) return `ENAMETOOLONG: a path component of ${Buffer.byteLength(part)} bytes (most file systems take ${NAME_MAX_BYTES})`;
  }
  return undefined;
}

/**
 * Compiles `out/{{source}}/{{kind}}/%Y-%m-%d.ndjson`: `{{field}}` from the event, `%Y %m %d
 * %H %M %S %j` from the event's time in UTC. Field values are made safe for paths (`/` and
 * `..` cannot climb out of the template's directory; a missing field renders as `unknown`).
 */
export function compilePathTemplate(template: string): { render: (e: CallEvent) => string; isStatic: boolean } {
  const { literals, getters } = templateParts(template);
  const hasTime = /%[YmdHMSj]/.test(template);
  if (getters.length === 0 && !hasTime) {
    const fixed = template.replace(/%%/g, '%');
    return { render: () => fixed, isStatic: true };
  }
  return {
    isStatic: false,
    render: (e) => {
      let path = literals[0]!;
      for (let i = 0; i < getters.length; i++) path += safe(getters[i]!(e)) + literals[i + 1]!;
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
