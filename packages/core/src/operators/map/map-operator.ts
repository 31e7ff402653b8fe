import { z } from 'zod';
import type { CallEvent } from '../../event.js';
import { compileGetter, isFieldPath, setPathCopying, type FieldRecord } from '../../expr/field-path.js';
import { compileTemplate, templateProblems, TEMPLATE_ISSUE } from '../../expr/template.js';
import { defineOperator } from '../../plugin.js';
import { mapEvents } from '../per-event.js';

const PROTECTED = new Set(['id', 'source', 'kind', 'time', 'attributes']);

const literal = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const setValue = z.union([
  literal,
  z.strictObject({ copy: z.string().refine(isFieldPath, 'expected a field path').describe('Copy the value of this field.') }),
  z.strictObject({
    template: z
      .string()
      .superRefine((t, ctx) => {
        for (const m of templateProblems(t)) ctx.addIssue({ code: 'custom', message: m, params: TEMPLATE_ISSUE });
      })
      .describe('Render a string such as "{{source}}:{{id}}".'),
  }),
]);
const fieldPath = z.string().refine(isFieldPath, { message: 'expected a field path such as attributes.team' });

export const mapConfigSchema = z
  .strictObject({
    set: z
      .record(fieldPath, setValue)
      .default({})
      .describe('Fields to set: a literal, `{ copy: field }` or `{ template: "..." }`. Applied first.'),
    rename: z.record(fieldPath, fieldPath).default({}).describe('Fields to move: `old.path: new.path`. Applied after set.'),
    remove: z.array(fieldPath).default([]).describe('Fields to delete. Applied last. `id`, `source`, `kind`, `time`, `attributes` cannot be removed.'),
  })
  .superRefine((c, ctx) => {
    for (const [i, f] of c.remove.entries()) if (PROTECTED.has(f)) ctx.addIssue({ code: 'custom', path: ['remove', i], message: `"${f}" is required on every event and cannot be removed` });
    for (const [from, to] of Object.entries(c.rename)) {
      if (PROTECTED.has(from)) ctx.addIssue({ code: 'custom', path: ['rename', from], message: `"${from}" is required on every event and cannot be renamed away` });
      if (to === from) ctx.addIssue({ code: 'custom', path: ['rename', from], message: 'renaming a field to itself does nothing: remove the entry' });
    }
  });

type Step = (target: Record<string, unknown>, original: CallEvent) => void;

/**
 * Sets `value` at `parts` in `target`, a copy of the event whose first-level objects named in
 * `copiedTop` were already copied for this event. Deeper objects are copied on the way down.
 */
function assign(target: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  if (parts.length === 1) {
    // undefined rather than delete: see setPathCopying.
    target[parts[0]!] = value;
    return;
  }
  const head = target[parts[0]!];
  if (head === null || typeof head !== 'object' || Array.isArray(head)) {
    // Nothing there yet (or not an object): start a fresh object at this key.
    setPathCopying(target, parts, value);
    return;
  }
  if (parts.length === 2) {
    (head as Record<string, unknown>)[parts[1]!] = value;
    return;
  }
  setPathCopying(head as Record<string, unknown>, parts.slice(1), value);
}

/**
 * `map`: sets, renames and removes fields without eval. Events are copied, never changed in place.
 *
 * ```yaml
 * tagged:
 *   type: map
 *   inputs: [plum]
 *   set:
 *     attributes.tenant: acme
 *     attributes.caller: { copy: from }
 *     attributes.key: { template: "{{source}}:{{id}}" }
 *   rename: { attributes.channel: attributes.line }
 *   remove: [raw]
 * ```
 */
export const mapOperator = defineOperator({
  type: 'map',
  description: 'Sets, renames and removes event fields with declarative rules (no code evaluation).',
  configSchema: mapConfigSchema,
  create(config) {
    // `set` rules one or two levels deep become patches spread over a copy: one allocation per
    // touched object, no per-key stores (which V8 makes slow when keys vary). Deeper paths,
    // renames and removals run as steps on the copy afterwards.
    const topLiteral: Record<string, unknown> = {};
    const topDynamic: [string, (e: CallEvent) => unknown][] = [];
    const nested = new Map<string, { literal: Record<string, unknown>; dynamic: [string, (e: CallEvent) => unknown][] }>();
    const steps: Step[] = [];
    const touched = new Set<string>();
    for (const [path, value] of Object.entries(config.set)) {
      const parts = path.split('.');
      const compute =
        value !== null && typeof value === 'object' && 'copy' in value
          ? compileGetter(value.copy)
          : value !== null && typeof value === 'object' && 'template' in value
            ? compileTemplate(value.template)
            : undefined;
      if (parts.length === 1) {
        if (compute) topDynamic.push([parts[0]!, compute]);
        else topLiteral[parts[0]!] = value;
      } else if (parts.length === 2) {
        let n = nested.get(parts[0]!);
        if (!n) nested.set(parts[0]!, (n = { literal: {}, dynamic: [] }));
        if (compute) n.dynamic.push([parts[1]!, compute]);
        else n.literal[parts[1]!] = value;
      } else {
        touched.add(parts[0]!);
        steps.push(compute ? (t, e) => assign(t, parts, compute(e)) : (t) => assign(t, parts, value));
      }
    }
    for (const [from, to] of Object.entries(config.rename)) {
      const fromParts = from.split('.');
      const toParts = to.split('.');
      if (fromParts.length > 1) touched.add(fromParts[0]!);
      if (toParts.length > 1) touched.add(toParts[0]!);
      const get = compileGetter(from);
      steps.push((t) => {
        const v = get(t);
        if (v === undefined) return;
        assign(t, fromParts, undefined);
        assign(t, toParts, v);
      });
    }
    for (const path of config.remove) {
      const parts = path.split('.');
      if (parts.length > 1) touched.add(parts[0]!);
      steps.push((t) => assign(t, parts, undefined));
    }
    for (const k of nested.keys()) touched.delete(k);
    const nestedList = [...nested].map(([key, n]) => ({ key, ...n }));
    const tops = [...touched];
    const topLiteralKeys = Object.keys(topLiteral);
    const hasTop = topLiteralKeys.length > 0 || topDynamic.length > 0;
    return {
      apply: mapEvents((e) => {
        // Copies with for-in and plain stores: V8 makes "spread, then add a key" far slower.
        const event = { ...e };
        // The copy's fields by name, to write the paths the config names. It stays a CallEvent:
        // the schema refuses removing or renaming away its required fields (PROTECTED).
        const copy: Record<string, unknown> = event;
        const original: FieldRecord = e;
        if (hasTop) {
          for (const k of topLiteralKeys) copy[k] = topLiteral[k];
          for (const [k, f] of topDynamic) copy[k] = f(e);
        }
        for (let i = 0; i < nestedList.length; i++) {
          const n = nestedList[i]!;
          const cur = original[n.key];
          const o: Record<string, unknown> = {};
          if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) for (const k in cur) o[k] = (cur as Record<string, unknown>)[k];
          for (const k in n.literal) o[k] = n.literal[k];
          for (let j = 0; j < n.dynamic.length; j++) o[n.dynamic[j]![0]] = n.dynamic[j]![1](e);
          copy[n.key] = o;
        }
        for (let i = 0; i < tops.length; i++) {
          const k = tops[i]!;
          const v = copy[k];
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
            const o: Record<string, unknown> = {};
            for (const kk in v) o[kk] = (v as Record<string, unknown>)[kk];
            copy[k] = o;
          }
        }
        for (let i = 0; i < steps.length; i++) steps[i]!(copy, e);
        return event;
      }),
    };
  },
});
