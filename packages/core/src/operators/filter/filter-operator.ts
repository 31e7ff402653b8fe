import { z } from 'zod';
import { conditionSchema, compileCondition } from '../../expr/predicate.js';
import { defineOperator } from '../../plugin.js';
import { filterEvents } from '../per-event.js';

export const filterConfigSchema = z.strictObject({
  where: conditionSchema('Keep the events for which this condition holds. See the predicate reference for operators.'),
});

/**
 * `filter`: keeps events matching a declarative condition.
 *
 * ```yaml
 * long_inbound:
 *   type: filter
 *   inputs: [plum]
 *   where: { direction: inbound, durationSec: { gte: 60 } }
 * ```
 */
export const filterOperator = defineOperator({
  type: 'filter',
  description: 'Keeps the events that match a condition; drops the rest (dropped events count as delivered).',
  configSchema: filterConfigSchema,
  create(config) {
    return { apply: filterEvents(compileCondition(config.where)), handsOverEvents: true };
  },
});
