import type { z } from 'zod';
import type { AnyPlugin, PluginKind } from '../plugin.js';
import type { pipelineTestSchema } from '../pipeline-tests/pipeline-test-schema.js';
import type { deadLetterSchema, runtimeSettingsSchema, spreadSchema } from './pipeline-schema.js';

/** A component of one of the plugins `P` of kind `K`, with the keys its schema takes (as written, before defaults). */
type ComponentOf<P, K extends PluginKind> = P extends { readonly kind: K; readonly type: infer T; readonly configSchema: infer S extends z.ZodType }
  ? { type: T; /** Module that exports the plugin (see `use:`). */ use?: string } & KeysOf<z.input<S>>
  : never;

/** A schema's input; `z.strictObject({})` (no keys) reads as `Record<string, never>`, which would refuse `type` too. */
type KeysOf<I> = string extends keyof I ? unknown : I;

/** A transform or sink also names its inputs. */
type WithInputs<C> = C extends unknown ? C & { /** Components (or `id.output`, or `dead_letter`) whose batches it takes. */ inputs: readonly string[] } : never;

/**
 * A pipeline written in code, typed by the plugins it may use: each component's keys are checked
 * against its plugin's schema by the compiler (a misspelled key is an error in the editor, not
 * at run time). Plugins whose `type` is a plain `string` (not defined with the `define*`
 * functions) are not checked.
 */
export interface PipelineDefinition<P> {
  id?: string;
  state?: ComponentOf<P, 'state'> | { type: 'directory'; path?: string };
  runtime?: z.input<typeof runtimeSettingsSchema>;
  dead_letter?: z.input<typeof deadLetterSchema>;
  /** Share the tenants among workers through Kafka (see docs/kafka.md, "Many tenants over many workers"). */
  spread?: z.input<typeof spreadSchema>;
  sources: Record<string, ComponentOf<P, 'source'>>;
  transforms?: Record<string, WithInputs<ComponentOf<P, 'transform'>>>;
  sinks: Record<string, WithInputs<ComponentOf<P, 'sink'>>>;
  tests?: z.input<typeof pipelineTestSchema>[];
}

/**
 * Types a pipeline built in code by the plugins it uses, for `createPipeline`; returns it as is.
 *
 * @example
 * const def = definePipeline([generateSource, dedupeOperator, fileSink], {
 *   sources: { gen: { type: 'generate', count: 1000 } },        // `cnt: 1000` does not compile
 *   transforms: { u: { type: 'dedupe', inputs: ['gen'] } },
 *   sinks: { out: { type: 'file', inputs: ['u'], path: 'out.ndjson' } },
 * });
 * const pipeline = await createPipeline(def, { plugins: [generateSource, dedupeOperator, fileSink] });
 */
export function definePipeline<const P extends readonly AnyPlugin[]>(plugins: P, definition: PipelineDefinition<P[number]>): PipelineDefinition<P[number]> {
  void plugins;
  return definition;
}
