import { duration, z } from '@plumline/core';
import { isFieldPath } from '@plumline/core/util';

export const DEFAULT_WINDOW = '5m';
export const DEFAULT_MAX_PENDING = 100_000;
export const DEFAULT_DURABLE_AFTER = '30s';

const fieldPath = z.string().refine(isFieldPath, { message: 'expected a field path such as attributes.sessionId' });
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
const match = z
  .strictObject({
    kind: oneOrMany(z.string().min(1)).describe('Event kind(s).'),
    source: z.string().min(1).optional().describe('Only events of this source.'),
  })
  .describe('Which events play this role.');

export const correlateRuleSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected snake_case').describe('Names the rule in flags and logs.'),
  anchor: match.describe('The event that carries the join (e.g. the session).'),
  partner: match.describe('Events joined to the anchor (e.g. its errors).'),
  anchor_key: oneOrMany(fieldPath).describe('Field(s) of the anchor to join on; with several (from, to) the anchor is found by any of them.'),
  partner_key: oneOrMany(fieldPath).describe('Field(s) of the partner compared with the anchor key.'),
  as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('Attribute (under attributes) that receives the partners, an array; default the rule name.'),
  emit: z.enum(['first_partner', 'window']).default('first_partner').describe('first_partner: emit the anchor when a partner joins it; window: collect partners until the window closes.'),
  within_span: duration('A partner joins only when its time falls within the anchor’s [time, endTime] widened by this much.').optional(),
});

/** The config schema of `correlate`. */
export const correlateConfigSchema = z
  .strictObject({
    window: duration('How long (processing time) an event waits for its partner.', DEFAULT_WINDOW),
    durable_after: duration(
      'Held events younger than this live in memory only: the source checkpoint stays before them, and after a crash the source reads them again. Older ones are written to the state store so the checkpoint can move on (bounding how much a restart reads again). 0s writes every held event at the next commit. Behind an exactly-once sink every held event is written in the transaction of its batch, whatever this says.',
      DEFAULT_DURABLE_AFTER,
    ),
    per_partition: z
      .boolean()
      .default(false)
      .describe('Behind a partitioned source (kafka) whose records are not keyed by the rules’ join field: join only the events of each worker’s partitions (an anchor and a partner in different partitions never meet). Without it such a pipeline is refused (CONFIG_NOT_CO_PARTITIONED).'),
    max_pending: z.int().min(1).default(DEFAULT_MAX_PENDING).describe('Events held at most; past it the oldest leave early, unmatched and flagged (memory stays bounded).'),
    rules: z
      .array(correlateRuleSchema)
      .min(1)
      .describe('Join rules; an event plays a role in the first rule that matches it.')
      .meta({ examples: [[{ name: 'session_errors', anchor: { kind: 'session' }, partner: { kind: 'error' }, anchor_key: 'attributes.sessionId', partner_key: 'attributes.sessionId' }]] }),
  })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    for (const [i, r] of c.rules.entries()) {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${r.name}" is used twice` });
      names.add(r.name);
      if (r.anchor.kind.some((k) => r.partner.kind.includes(k)) && (r.anchor.source ?? '') === (r.partner.source ?? '')) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'partner'], message: 'anchor and partner match the same events: give them different kinds or sources' });
      }
    }
  });

/** `correlate`'s config, validated. */
export type CorrelateConfig = z.output<typeof correlateConfigSchema>;
export type CorrelateRule = z.output<typeof correlateRuleSchema>;
