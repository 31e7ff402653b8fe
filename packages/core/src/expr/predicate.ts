import { z } from 'zod';
import type { CallEvent } from '../event.js';
import { compileGetter, isFieldPath } from './field-path.js';
import { eventFieldProblem } from './template.js';

/**
 * A declarative condition on an event, written as YAML, compiled to a closure (no eval):
 *
 * ```yaml
 * where:
 *   kind: session                       # equals
 *   durationSec: { gte: 10, lt: 3600 }  # every operator must hold
 *   attributes.channel: { in: [1, 2, 3] }
 *   any:                                # at least one
 *     - direction: inbound
 *     - to: { starts_with: "+1800" }
 *   not: { from: { exists: false } }
 * ```
 * Operators: eq, ne, in, not_in, gt, gte, lt, lte, exists, matches (a regular expression),
 * contains, starts_with, ends_with. Keys are field paths; `all`, `any`, `not` combine.
 *
 * Nothing is coerced: gt/gte/lt/lte hold only between two numbers or two strings (ISO times
 * compare as text), as comparing across types is an error in Vector's VRL and in Bloblang; the
 * text operators hold only on strings (`contains` also on a list holding the string). A missing
 * field (absent, removed, or under a value that is not an object) equals `null` and nothing else,
 * as `exists: false` says, and as a missing field reads as null in VRL and Bloblang.
 */
export type Predicate = (event: CallEvent) => boolean;
/** A declarative condition as written in YAML (`where:`, routes); compile it with {@link compileCondition}. */
export type Condition = Record<string, unknown>;

const OPERATORS = new Set(['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'exists', 'matches', 'contains', 'starts_with', 'ends_with']);

type Issue = { path: (string | number)[]; message: string };

function isLiteral(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/** Every problem in `cond`, with its path relative to the condition. */
export function conditionProblems(cond: unknown, path: (string | number)[] = []): Issue[] {
  if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) return [{ path, message: 'a condition is a map of field paths to values or operators' }];
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(cond)) {
    const p = [...path, key];
    if (key === 'all' || key === 'any') {
      if (!Array.isArray(value) || value.length === 0) issues.push({ path: p, message: `${key} takes a non-empty list of conditions` });
      else value.forEach((c, i) => issues.push(...conditionProblems(c, [...p, i])));
    } else if (key === 'not') {
      issues.push(...conditionProblems(value, p));
    } else if (!isFieldPath(key)) {
      issues.push({ path: p, message: `"${key}" is not a field path (e.g. kind, attributes.channel)` });
    } else if (eventFieldProblem(key, 'condition') !== undefined) {
      // A misspelt field is missing on every event: the condition would quietly never (or always) hold.
      issues.push({ path: p, message: eventFieldProblem(key, 'condition')! });
    } else if (isLiteral(value)) {
      // equality
    } else if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [op, arg] of Object.entries(value as Record<string, unknown>)) {
        const q = [...p, op];
        if (!OPERATORS.has(op)) issues.push({ path: q, message: `unknown operator "${op}": use one of ${[...OPERATORS].join(', ')}` });
        else if ((op === 'in' || op === 'not_in') && !(Array.isArray(arg) && arg.every(isLiteral))) issues.push({ path: q, message: `${op} takes a list of values` });
        else if (op === 'exists' && typeof arg !== 'boolean') issues.push({ path: q, message: 'exists takes true or false' });
        else if (['gt', 'gte', 'lt', 'lte'].includes(op) && typeof arg !== 'number' && typeof arg !== 'string') issues.push({ path: q, message: `${op} takes a number or a string` });
        else if (['matches', 'contains', 'starts_with', 'ends_with'].includes(op) && typeof arg !== 'string') issues.push({ path: q, message: `${op} takes a string` });
        else if (op === 'matches') {
          try {
            new RegExp(arg as string);
          } catch (err) {
            issues.push({ path: q, message: `invalid regular expression: ${(err as Error).message}` });
          }
        } else if ((op === 'eq' || op === 'ne') && !isLiteral(arg)) issues.push({ path: q, message: `${op} takes a string, number, boolean or null` });
      }
    } else {
      issues.push({ path: p, message: 'expected a value (string, number, boolean, null) or a map of operators' });
    }
  }
  return issues;
}

/** Schema for a condition: structure checked with located messages. */
export function conditionSchema(description: string) {
  return z
    .record(z.string(), z.unknown())
    .superRefine((value, ctx) => {
      for (const issue of conditionProblems(value)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    })
    .describe(description);
}

/** Equality; a missing field equals null (see the file's comment). */
function equals(get: (e: CallEvent) => unknown, arg: unknown): Predicate {
  return arg === null ? (e) => get(e) === null || get(e) === undefined : (e) => get(e) === arg;
}

/** One operator; the order operators are false unless the field has the argument's type (a number or a string). */
function compileOp(get: (e: CallEvent) => unknown, op: string, arg: unknown): Predicate {
  switch (op) {
    case 'eq':
      return equals(get, arg);
    case 'ne': {
      const eq = equals(get, arg);
      return (e) => !eq(e);
    }
    case 'in': {
      const set = new Set(arg as unknown[]);
      return (e) => set.has(get(e) ?? null);
    }
    case 'not_in': {
      const set = new Set(arg as unknown[]);
      return (e) => !set.has(get(e) ?? null);
    }
    case 'gt': {
      const type = typeof arg;
      return (e) => {
        const v = get(e);
        return typeof v === type && (v as number) > (arg as number);
      };
    }
    case 'gte': {
      const type = typeof arg;
      return (e) => {
        const v = get(e);
        return typeof v === type && (v as number) >= (arg as number);
      };
    }
    case 'lt': {
      const type = typeof arg;
      return (e) => {
        const v = get(e);
        return typeof v === type && (v as number) < (arg as number);
      };
    }
    case 'lte': {
      const type = typeof arg;
      return (e) => {
        const v = get(e);
        return typeof v === type && (v as number) <= (arg as number);
      };
    }
    case 'exists':
      return arg ? (e) => get(e) !== undefined && get(e) !== null : (e) => get(e) === undefined || get(e) === null;
    case 'matches': {
      const re = new RegExp(arg as string);
      return (e) => {
        const v = get(e);
        return typeof v === 'string' && re.test(v);
      };
    }
    case 'contains':
      return (e) => {
        const v = get(e);
        return (typeof v === 'string' || Array.isArray(v)) && v.includes(arg as string);
      };
    case 'starts_with':
      return (e) => {
        const v = get(e);
        return typeof v === 'string' && v.startsWith(arg as string);
      };
    case 'ends_with':
      return (e) => {
        const v = get(e);
        return typeof v === 'string' && v.endsWith(arg as string);
      };
    default:
      throw new Error(`unknown operator ${op}`);
  }
}

function and(preds: Predicate[]): Predicate {
  if (preds.length === 1) return preds[0]!;
  if (preds.length === 2) {
    const [a, b] = preds as [Predicate, Predicate];
    return (e) => a(e) && b(e);
  }
  return (e) => {
    for (const p of preds) if (!p(e)) return false;
    return true;
  };
}

/** Compiles a validated condition into a predicate. An empty condition is always true. */
export function compileCondition(cond: Condition): Predicate {
  const parts: Predicate[] = [];
  for (const [key, value] of Object.entries(cond)) {
    if (key === 'all') parts.push(and((value as Condition[]).map(compileCondition)));
    else if (key === 'any') {
      const preds = (value as Condition[]).map(compileCondition);
      parts.push((e) => {
        for (const p of preds) if (p(e)) return true;
        return false;
      });
    } else if (key === 'not') {
      const p = compileCondition(value as Condition);
      parts.push((e) => !p(e));
    } else {
      const get = compileGetter(key);
      if (isLiteral(value)) parts.push(equals(get, value));
      else parts.push(and(Object.entries(value as Record<string, unknown>).map(([op, arg]) => compileOp(get, op, arg))));
    }
  }
  return parts.length === 0 ? () => true : and(parts);
}
