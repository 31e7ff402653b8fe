import { z } from 'zod';

const fieldPath = z.string().regex(/^[A-Za-z_$][\w$]*(\.[\w$]+)*$/, 'expected a field path such as attributes.sessionId (array items by index: attributes.errors.0.id)');

/** Conditions on one event; all of them must hold. */
export const eventConditionSchema = z
  .strictObject({
    equals: z.record(fieldPath, z.unknown()).optional().describe('Field path → the exact value (deep equality).'),
    contains: z.record(fieldPath, z.unknown()).optional().describe('Field path → a substring (strings), an item (arrays) or a subset (objects).'),
    matches: z
      .record(
        fieldPath,
        z.string().refine((r) => {
          try {
            new RegExp(r);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression'),
      )
      .optional()
      .describe('Field path → a regular expression the string value must match.'),
  })
  .refine((c) => c.equals || c.contains || c.matches, { message: 'give at least one of equals, contains, matches' });

/** The schema of one entry of a pipeline file's `tests:` section. */
export const pipelineTestSchema = z.strictObject({
  name: z.string().min(1).describe('What the test shows; printed with its result.'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Environment variables set while the test runs (e.g. a mask key).'),
  inputs: z
    .array(
      z.strictObject({
        insert_at: z.string().min(1).describe('The transform the events are fed into.'),
        events: z
          .array(z.looseObject({}))
          .min(1)
          .describe('Events (missing id, source, kind, time and attributes get test defaults).'),
      }),
    )
    .min(1),
  outputs: z
    .array(
      z.strictObject({
        extract_from: z.string().min(1).describe('A transform (or `id.output`, or `dead_letter`) whose output is checked.'),
        count: z.int().min(0).optional().describe('Exactly this many events.'),
        conditions: z.array(eventConditionSchema).default([]).describe('Each must hold for at least one emitted event.'),
        absent: z.array(eventConditionSchema).default([]).describe('None may hold for any emitted event.'),
      }),
    )
    .min(1),
});

/** One entry of a pipeline file's `tests:` section, validated. */
export type PipelineTest = z.output<typeof pipelineTestSchema>;
export type EventCondition = z.output<typeof eventConditionSchema>;
