import type { Pipeline, PipelineHealth } from '../runtime/pipeline.js';
import type { StoredCheckpoint } from '../runtime/source-tracker.js';
import type { ComponentHealth, ComponentStats, ErrorNote } from '../telemetry.js';
import type { JsonValue } from '../util/json.js';
import { summarizeCheckpoint } from './checkpoint-summary.js';
import type { DeadLetterNote } from './recent-dead-letters.js';
import { systemClock } from '../util/clock.js';

/** One component as `/status` shows it. */
export interface StatusComponent {
  id: string;
  kind: 'source' | 'transform' | 'sink';
  type: string;
  /** What it reads from (`id`, `id.output` or `dead_letter`). */
  inputs: string[];
  /** Its named outputs (a route's), if any. */
  outputs: string[];
  /** `Pipeline.stats()` of the component, as is: a plugin's additions (per-tenant detail) pass through. */
  stats: ComponentStats | undefined;
  /** `Pipeline.health()` of the component, as is. */
  health: ComponentHealth | undefined;
  /** Sources: the committed checkpoint, summarized (see summarizeCheckpoint). */
  checkpoint?: { seq: number; position: JsonValue };
}

/** What `GET /status` answers (and the web view draws): the graph in graph order, live counters, health, checkpoints, errors and dead letters. */
export interface StatusDocument {
  pipeline: string;
  version?: string;
  /** When this document was made (epoch milliseconds): the views compute rates between two. */
  atMs: number;
  health: Omit<PipelineHealth, 'components'>;
  /** Sources, then transforms (each after its inputs), then sinks. */
  components: StatusComponent[];
  /** When the checkpoints shown were stored (epoch milliseconds). */
  checkpointsAtMs?: number;
  /** Each component's last error, newest first, and the error that ended the pipeline. */
  errors: (ErrorNote & { component: string })[];
  /** The last dead letters, newest first. */
  deadLetters: DeadLetterNote[];
}

/** The status of `pipeline` now: see {@link StatusDocument}. */
export function statusDocument(pipeline: Pipeline, o: { checkpoints?: { atMs: number; checkpoints: Record<string, StoredCheckpoint> }; deadLetters: readonly DeadLetterNote[]; version?: string; nowMs?: number }): StatusDocument {
  const def = pipeline.definition;
  const stats = pipeline.stats();
  const { components: healthOf, ...health } = pipeline.health();
  const kinds = { sources: 'source', transforms: 'transform', sinks: 'sink' } as const;
  const components = [...def.sources, ...def.transforms, ...def.sinks].map((c): StatusComponent => {
    const stored = c.section === 'sources' ? o.checkpoints?.checkpoints[c.id] : undefined;
    return {
      id: c.id,
      kind: kinds[c.section],
      type: c.plugin.type,
      inputs: [...c.inputs],
      outputs: 'outputs' in c.bound ? [...c.bound.outputs()] : [],
      stats: stats[c.id],
      health: healthOf[c.id],
      ...(stored ? { checkpoint: { seq: stored.seq, position: summarizeCheckpoint(stored.position ?? null) } } : {}),
    };
  });
  const errors = components.flatMap((c) => (c.stats?.lastError ? [{ component: c.id, ...c.stats.lastError }] : []));
  const nowMs = o.nowMs ?? systemClock.now();
  if (health.error !== undefined) errors.push({ component: pipeline.id, atMs: nowMs, message: health.error, retriable: false });
  return {
    pipeline: pipeline.id,
    ...(o.version ? { version: o.version } : {}),
    atMs: nowMs,
    health,
    components,
    ...(o.checkpoints ? { checkpointsAtMs: o.checkpoints.atMs } : {}),
    errors: errors.sort((a, b) => b.atMs - a.atMs),
    deadLetters: [...o.deadLetters].reverse(),
  };
}
