import { DEAD_LETTER_STREAM } from '../config/pipeline-schema.js';
import type { Operator, Source } from '../plugin.js';
import type { Created } from './graph-builder.js';
import type { OutputTaps } from './output-taps.js';
import type { ResolvedPipeline } from './resolve-pipeline.js';

/**
 * Which operators own the events they are handed (OperatorContext.ownsEvents): those whose every
 * input is an output with that operator as its only consumer, made by a source or operator that
 * hands its events over, whose own inputs are owned the same way, up to the sources. Fan-out, the
 * dead-letter stream, a named output (route) or a component that does not declare
 * `handsOverEvents` breaks the chain. What the graph decides is fixed at start; whether someone
 * observed an output on the chain (`Pipeline.output$` hands its events out) is asked per batch:
 * once observed, a chain stays shared for the pipeline's life (an observer may keep what it saw).
 */
export class EventOwnership {
  /** Per transform id: the outputs its input passed through (each must stay unobserved), or undefined when it never owns its input. */
  private readonly chains = new Map<string, readonly string[] | undefined>();

  constructor(
    definition: ResolvedPipeline,
    sources: readonly Created<Source>[],
    operators: readonly Created<Operator>[],
    private readonly taps: OutputTaps,
  ) {
    const consumers = new Map<string, number>();
    for (const c of [...definition.transforms, ...definition.sinks]) for (const ref of c.inputs) consumers.set(ref, (consumers.get(ref) ?? 0) + 1);
    const sourceById = new Map(definition.sources.map((s, i) => [s.id, sources[i]!.instance]));
    const transformById = new Map(definition.transforms.map((t, i) => [t.id, { def: t, op: operators[i]!.instance }]));
    /** The outputs up to the sources when the events on `ref` are its one consumer's alone, else undefined. */
    const owned = new Map<string, readonly string[] | undefined>();
    const refChain = (ref: string): readonly string[] | undefined => {
      if (owned.has(ref)) return owned.get(ref);
      owned.set(ref, undefined); // a cycle (refused at validate) owns nothing
      let chain: readonly string[] | undefined;
      if (ref !== DEAD_LETTER_STREAM && consumers.get(ref) === 1) {
        const source = sourceById.get(ref);
        const t = transformById.get(ref);
        if (source?.handsOverEvents) chain = [ref];
        else if (t && t.op.handsOverEvents && t.def.bound.outputs().length === 0) {
          const up = inputChain(t.def.inputs);
          if (up) chain = [ref, ...up];
        }
      }
      owned.set(ref, chain);
      return chain;
    };
    const inputChain = (inputs: readonly string[]): readonly string[] | undefined => {
      const all: string[] = [];
      for (const ref of inputs) {
        const c = refChain(ref);
        if (!c) return undefined;
        all.push(...c);
      }
      return all;
    };
    for (const t of definition.transforms) this.chains.set(t.id, inputChain(t.inputs));
  }

  /** True when transform `id` may change the events of the batch in hand in place. */
  owns(id: string): boolean {
    const chain = this.chains.get(id);
    if (!chain) return false;
    for (let i = 0; i < chain.length; i++) if (this.taps.everObserved(chain[i]!)) return false;
    return true;
  }
}
