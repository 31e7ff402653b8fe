import type { z } from 'zod';
import type {
  AnyPlugin,
  AtomicProblem,
  AtomicTarget,
  ComponentContext,
  Operator,
  OperatorContext,
  OperatorPlugin,
  PreflightContext,
  PreflightProblem,
  Sink,
  SinkContext,
  SinkPlugin,
  Source,
  SourcePlugin,
  SourceTasks,
  SpreadSettings,
  StateStoreContext,
  StateStorePlugin,
  TenantSpread,
} from '../plugin.js';
import type { StateStore } from '../state/state-store.js';
import type { AnySchema } from '../config/schema-node.js';

/**
 * Parses a component's config with the schema it is given (its plugin's), or says undefined
 * when it does not parse (having reported why). Generic, so that what it returns is typed by
 * the schema it parsed with.
 */
export type ParseConfig = <S extends AnySchema>(schema: S) => { readonly data: z.output<S> } | undefined;

/** What every plugin, its config applied, answers when the pipeline is resolved. */
export interface BoundBase {
  /** {@link SourcePlugin.preflight} (or the kind's) with the config applied; none: no problems. */
  preflight(ctx: PreflightContext): readonly PreflightProblem[] | Promise<readonly PreflightProblem[]>;
}

/** A source plugin with one component's validated config applied: every question the runtime asks it, with no config to pass. */
export interface BoundSource extends BoundBase {
  create(ctx: ComponentContext): Promise<Source>;
  /** {@link SourcePlugin.tasks}: how the source splits into tasks, each copy's source bound to the task's config. */
  tasks(): BoundSourceTasks | undefined;
  shardable(): boolean;
  partitioning(): { keyedBy: readonly string[] | undefined } | undefined;
}

/** {@link SourceTasks} with each task's config bound to the plugin. */
export interface BoundSourceTasks {
  membership: SourceTasks<unknown>['membership'];
  /** The source of the copy of the pipeline that runs `task`: its config, and that config bound. */
  forTask(task: number): { readonly config: unknown; readonly bound: BoundSource };
}

/** An operator plugin with one component's validated config applied. */
export interface BoundOperator extends BoundBase {
  create(ctx: OperatorContext): Promise<Operator>;
  /** {@link OperatorPlugin.outputs}; none: no named outputs. */
  outputs(): readonly string[];
  partitionKey(): ReturnType<NonNullable<OperatorPlugin['partitionKey']>> | undefined;
}

/** A sink plugin with one component's validated config applied. */
export interface BoundSink extends BoundBase {
  create(ctx: SinkContext): Promise<Sink>;
  /** {@link SinkPlugin.atomicProblems}: undefined when this config does not commit atomically. */
  atomicProblems(target: AtomicTarget | undefined): readonly AtomicProblem[] | undefined;
}

/** A state store plugin with the pipeline's `state:` config applied. */
export interface BoundStateStore extends BoundBase {
  create(ctx: StateStoreContext): Promise<StateStore>;
  atomicTarget(): AtomicTarget | undefined;
  spread(settings: SpreadSettings): TenantSpread | undefined;
}

/** The bound form of a plugin of type `P`. */
export type BoundPlugin<P extends AnyPlugin> = P extends SourcePlugin ? BoundSource : P extends OperatorPlugin ? BoundOperator : P extends SinkPlugin ? BoundSink : BoundStateStore;

/** A plugin, the config its schema validated, and the two bound together. */
export type Binding<P extends AnyPlugin> = { readonly plugin: P; readonly config: unknown; readonly bound: BoundPlugin<P> };

/**
 * Validates a component's config with its plugin's schema (through `parse`) and binds the result
 * to that plugin. Each kind is bound by a function generic over the plugin's schema, in which the
 * config can only be what that schema parsed: a config cannot reach another plugin's `create`,
 * and the runtime calls plugins without casting configs (the existential-type pattern: the
 * config's type is known inside the binding only; outside, only closures over it are).
 */
export function bindPlugin(plugin: AnyPlugin, parse: ParseConfig): Binding<AnyPlugin> | undefined {
  switch (plugin.kind) {
    case 'source':
      return bindSource(plugin, parse);
    case 'transform':
      return bindOperator(plugin, parse);
    case 'sink':
      return bindSink(plugin, parse);
    case 'state':
      return bindStateStore(plugin, parse);
  }
}

/** Binds a state store plugin to the `state:` config (see {@link bindPlugin}). */
export function bindStateStore<S extends z.ZodType>(plugin: StateStorePlugin<S>, parse: ParseConfig): Binding<StateStorePlugin> | undefined {
  const parsed = parse(plugin.configSchema);
  if (!parsed) return undefined;
  const config = parsed.data;
  const bound: BoundStateStore = {
    preflight: (ctx) => plugin.preflight?.(config, ctx) ?? [],
    create: async (ctx) => plugin.create(config, ctx),
    atomicTarget: () => plugin.atomicTarget?.(config),
    spread: (settings) => plugin.spread?.(config, settings),
  };
  return { plugin, config, bound };
}

function bindSource<S extends z.ZodType, C>(plugin: SourcePlugin<S, C>, parse: ParseConfig): Binding<SourcePlugin> | undefined {
  const parsed = parse(plugin.configSchema);
  return parsed && { plugin, config: parsed.data, bound: boundSource(plugin, parsed.data) };
}

function boundSource<S extends z.ZodType, C>(plugin: SourcePlugin<S, C>, config: z.output<S>): BoundSource {
  return {
    preflight: (ctx) => plugin.preflight?.(config, ctx) ?? [],
    create: async (ctx) => plugin.create(config, ctx),
    tasks: () => {
      const tasks = plugin.tasks?.(config);
      if (!tasks) return undefined;
      return {
        membership: (ctx) => tasks.membership(ctx),
        forTask: (task) => {
          const narrowed = tasks.configFor(task);
          return { config: narrowed, bound: boundSource(plugin, narrowed) };
        },
      };
    },
    shardable: () => plugin.shardable?.(config) ?? false,
    partitioning: () => plugin.partitioning?.(config),
  };
}

function bindOperator<S extends z.ZodType>(plugin: OperatorPlugin<S>, parse: ParseConfig): Binding<OperatorPlugin> | undefined {
  const parsed = parse(plugin.configSchema);
  if (!parsed) return undefined;
  const config = parsed.data;
  const bound: BoundOperator = {
    preflight: (ctx) => plugin.preflight?.(config, ctx) ?? [],
    create: async (ctx) => plugin.create(config, ctx),
    outputs: () => plugin.outputs?.(config) ?? [],
    partitionKey: () => plugin.partitionKey?.(config),
  };
  return { plugin, config, bound };
}

function bindSink<S extends z.ZodType>(plugin: SinkPlugin<S>, parse: ParseConfig): Binding<SinkPlugin> | undefined {
  const parsed = parse(plugin.configSchema);
  if (!parsed) return undefined;
  const config = parsed.data;
  const bound: BoundSink = {
    preflight: (ctx) => plugin.preflight?.(config, ctx) ?? [],
    create: async (ctx) => plugin.create(config, ctx),
    atomicProblems: (target) => plugin.atomicProblems?.(config, target),
  };
  return { plugin, config, bound };
}
