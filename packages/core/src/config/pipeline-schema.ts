import { z } from 'zod';
import { duration } from '../schema.js';
import { pipelineTestSchema } from '../pipeline-tests/pipeline-test-schema.js';

export const DEFAULT_STATE_PATH = '.plumline/state';
export const DEFAULT_DEAD_LETTER_PATH = '.plumline/dead-letter.ndjson';
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = 16;
export const DEFAULT_COMMIT_INTERVAL = '1s';
export const DEFAULT_SHUTDOWN_TIMEOUT = '30s';
export const DEFAULT_SINK_MAX_RETRIES = -1;
export const DEFAULT_STALL_TIMEOUT = '10s';
/** The input name of the dead-letter stream: a sink with `inputs: [dead_letter]` takes every record refused anywhere. */
export const DEAD_LETTER_STREAM = 'dead_letter';

const componentId = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { message: 'component names start with a letter and hold letters, digits, _ and -' });

/** Keys every component has; the rest is the plugin's and is checked by its own schema. */
const componentCommon = {
  type: z.string().min(1).optional().describe('The plugin type, e.g. `generate`, `dedupe`, `file`.'),
  use: z.string().min(1).optional().describe('A module path (relative to the pipeline file) or package name that exports the plugin.'),
};

export const sourceEntrySchema = z.looseObject(componentCommon);
export const componentWithInputsSchema = z.looseObject({
  ...componentCommon,
  inputs: z.array(z.string().min(1)).min(1).describe('Components (or `name.output`) whose batches this one takes.'),
});

export const runtimeSettingsSchema = z
  .strictObject({
    max_in_flight_batches: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(DEFAULT_MAX_IN_FLIGHT_BATCHES)
      .describe('Batches a source may have emitted and not yet fully acknowledged. Bounds memory; a slow sink slows the sources.'),
    commit_interval: duration('How often acknowledged checkpoints are written to the state store.', DEFAULT_COMMIT_INTERVAL),
    shutdown_timeout: duration('How long a graceful stop may take to drain in-flight batches before it gives up.', DEFAULT_SHUTDOWN_TIMEOUT),
    sink_max_retries: z
      .int()
      .min(-1)
      .default(DEFAULT_SINK_MAX_RETRIES)
      .describe('Retries of a failed sink write before the pipeline fails; -1 retries forever (the pipeline slows instead of dropping).'),
    stall_timeout: duration('A sink whose write has not finished after this long counts as failing (not ready on /readyz) until it finishes.', DEFAULT_STALL_TIMEOUT),
  })
  .prefault({});

export const deadLetterSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default(DEFAULT_DEAD_LETTER_PATH)
      .describe(`NDJSON file for dead letters when no sink takes the \`${DEAD_LETTER_STREAM}\` stream as input.`),
    expected: z
      .boolean()
      .optional()
      .describe('Dead letters are part of this pipeline\'s normal life (a source known to serve bad rows): a run that ends with some still exits 0. Absent or false: `plumline run` ends with exit status 3 when any record was dead-lettered (they are warned about either way).'),
    max_ratio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Dead letters up to this share of the records the sources read are expected (e.g. 0.01: one in a hundred); more end the run with exit status 3. Instead of `expected`.'),
  })
  .superRefine((d, ctx) => {
    if (d.expected !== undefined && d.max_ratio !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['max_ratio'], message: 'set expected: true (any number of dead letters is fine) or max_ratio (up to that share of the records read), not both: remove one' });
    }
  })
  .prefault({});

/** The share of the records read that may be dead-lettered without failing the run: Infinity with `expected: true`, else `max_ratio`, else 0. */
export function deadLetterMaxRatio(d: z.output<typeof deadLetterSchema>): number {
  return d.expected === true ? Number.POSITIVE_INFINITY : (d.max_ratio ?? 0);
}

export const stateSectionSchema = z
  .looseObject({ type: z.string().min(1).default('directory').describe('State store type: `directory` (default) or one a plugin adds, e.g. `kafka`.') })
  .prefault({ type: 'directory' });

export const DEFAULT_SPREAD_SESSION_TIMEOUT = '30s';

export const spreadSchema = z
  .strictObject({
    partitions: z
      .int()
      .min(1)
      .max(10_000)
      .describe('Shares the tenants are hashed onto: the partitions of the coordination topic, each run as a copy of the pipeline (id `<id>-p<n>`) by whichever worker the group gives it. At most this many workers do work. Fixed for the life of the pipeline\'s state: a tenant\'s checkpoint is kept under its share\'s id.'),
    topic: z.string().min(1).optional().describe('The coordination topic (created with `partitions` partitions when missing; it holds no records). Default: `plumline-tenants-<id>`.'),
    group: z.string().min(1).optional().describe('The consumer group of the workers. Default: `<id>.spread`.'),
    session_timeout: duration('How long a worker that stopped answering (killed, cut off) keeps its shares before the group gives them to the others.', DEFAULT_SPREAD_SESSION_TIMEOUT),
  })
  .describe('Share this pipeline\'s tenants (the accounts of its plum, iplum and http sources) among every worker started with this file, through a Kafka consumer group; each share\'s checkpoint is in the Kafka state store, so it moves with the share. Needs `state: { type: kafka }` and an exactly-once Kafka sink.');

export const pipelineFileSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional()
    .describe("The pipeline's id, used to name its state. Default: the file's base name."),
  state: stateSectionSchema,
  dead_letter: deadLetterSchema,
  runtime: runtimeSettingsSchema,
  spread: spreadSchema.optional(),
  sources: z.record(componentId, sourceEntrySchema).refine((r) => Object.keys(r).length > 0, { message: 'a pipeline needs at least one source' }),
  transforms: z.record(componentId, componentWithInputsSchema).default({}),
  sinks: z.record(componentId, componentWithInputsSchema).refine((r) => Object.keys(r).length > 0, { message: 'a pipeline needs at least one sink' }),
  tests: z.array(pipelineTestSchema).default([]).describe('Unit tests of the transforms, run by `plumline test` (never by `run`).'),
});

export type PipelineFile = z.output<typeof pipelineFileSchema>;
export type RuntimeSettings = z.output<typeof runtimeSettingsSchema>;
