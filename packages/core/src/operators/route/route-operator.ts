import { z } from 'zod';
import { toOutputs } from '../per-event.js';
import { compileCondition, conditionSchema } from '../../expr/predicate.js';
import { defineOperator } from '../../plugin.js';

/** The named output of `route` that takes events no route matched (`id._unmatched`). */
export const UNMATCHED_OUTPUT = '_unmatched';

export const routeConfigSchema = z.strictObject({
  routes: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'route names start with a letter and hold letters, digits, _ and -'), conditionSchema('Condition for this route.'))
    .refine((r) => Object.keys(r).length > 0, 'give at least one route')
    .describe(`Named conditions. Downstream components take \`<id>.<route>\`; events matching no route go to \`<id>.${UNMATCHED_OUTPUT}\`. An event matching several routes goes to each.`),
});

/**
 * `route`: sends events to named outputs by condition.
 *
 * ```yaml
 * by_kind:
 *   type: route
 *   inputs: [plum]
 *   routes:
 *     sessions: { kind: session }
 *     problems: { any: [{ kind: error }, { durationSec: { lt: 2 } }] }
 * sinks:
 *   errors_file: { type: file, inputs: [by_kind.problems], path: out/problems.ndjson }
 * ```
 */
export const routeOperator = defineOperator({
  type: 'route',
  description: 'Sends each event to every named output whose condition it matches, or to `_unmatched`.',
  configSchema: routeConfigSchema,
  outputs: (config) => [...Object.keys(config.routes), UNMATCHED_OUTPUT],
  create(config) {
    const names = Object.keys(config.routes);
    const preds = names.map((n) => compileCondition(config.routes[n]!));
    const unmatched = [names.length];
    return {
      apply: toOutputs([...names, UNMATCHED_OUTPUT], (e) => {
        const hits: number[] = [];
        for (let i = 0; i < preds.length; i++) if (preds[i]!(e)) hits.push(i);
        return hits.length ? hits : unmatched;
      }),
    };
  },
});
