import { z } from 'zod';
import type { CallEvent } from '../../event.js';
import { compileGetter, isFieldPath, setPathCopying } from '../../expr/field-path.js';
import { compileTemplate, templateProblems } from '../../expr/template.js';
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
        for (const m of templateProblems(t)) ctx.addIssue({ code: 'custom', message: m });
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
    const steps: Step[] = [];
    for (const [path, value] of Object.entries(config.set)) {
      const parts = path.split('.');
      if (value !== null && typeof value === 'object' && 'copy' in value) {
        const get = compileGetter(value.copy);
        steps.push((t, e) => setPathCopying(t, parts, get(e)));
      } else if (value !== null && typeof value === 'object' && 'template' in value) {
        const render = compileTemplate(value.template);
        steps.push((t, e) => setPathCopying(t, parts, render(e)));
      } else {
        steps.push((t) => setPathCopying(t, parts, value));
      }
    }
    for (const [from, to] of Object.entries(config.rename)) {
      const fromParts = from.split('.');
      const toParts = to.split('.');
      const get = compileGetter(from);
      steps.push((t) => {
        const v = get(t as unknown as CallEvent);
        if (v === undefined) return;
        setPathCopying(t, fromParts, undefined);
        setPathCopying(t, toParts, v);
      });
    }
    for (const path of config.remove) {
      const parts = path.split('.');
      steps.push((t) => setPathCopying(t, parts, undefined));
    }
    return {
      apply: mapEvents((e) => {
        const copy = { ...e } as unknown as Record<string, unknown>;
        for (const step of steps) step(copy, e);
        return copy as unknown as CallEvent;
      }),
    };
  },
});
