import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { ConfigError, ConfigErrors, PluginError } from '../errors.js';
import type { AnyPlugin, AtomicTarget, OperatorPlugin, PluginKind, SinkPlugin, SourcePlugin, SpreadSettings, StateStorePlugin, TenantShard, TenantSpread } from '../plugin.js';
import { loadPluginModule, type PluginRegistry } from '../registry.js';
import { collectSecrets } from '../schema.js';
import { closestName, fieldSchema, validateConfig } from '../config/validate.js';
import { YamlDocument, type KeyPath } from '../config/yaml-document.js';
import { bindPlugin, bindStateStore, type Binding, type BoundBase, type BoundPlugin, type ParseConfig } from './bound-plugin.js';
import { DEAD_LETTER_STREAM, deadLetterMaxRatio, pipelineFileSchema, type PipelineFile, type RuntimeSettings } from '../config/pipeline-schema.js';

/** One component of a resolved pipeline: its id, section, plugin, validated config (bound to the plugin) and inputs. */
export interface ResolvedComponent<P extends AnyPlugin = AnyPlugin> {
  id: string;
  section: 'sources' | 'transforms' | 'sinks';
  plugin: P;
  /** The config as the plugin's schema validated it, as data (to show, to compare): the plugin is called through `bound`. */
  config: unknown;
  /** The plugin with this config applied: `create` and every other question that takes the config. */
  bound: BoundPlugin<P>;
  inputs: string[];
}

/** The pipeline's state store: its plugin, the validated `state:` config and the two bound together. */
export type ResolvedStateStore = Binding<StateStorePlugin>;

/** A pipeline file checked against the pipeline schema and every plugin's schema. */
export interface ResolvedPipeline {
  id: string;
  file: string;
  baseDir: string;
  settings: RuntimeSettings;
  deadLetterPath: string;
  /** The share of the records read that may be dead-lettered in a run that is still a success (`dead_letter.expected` / `max_ratio`; Infinity: any). */
  deadLetterMaxRatio: number;
  state: ResolvedStateStore;
  sources: ResolvedComponent<SourcePlugin>[];
  /** In an order where every transform comes after its inputs. */
  transforms: ResolvedComponent<OperatorPlugin>[];
  sinks: ResolvedComponent<SinkPlugin>[];
  /** Values of secret fields, to redact from logs. */
  secrets: string[];
  /** `spread:`: the tenants are shared out among workers, a copy of the pipeline per share (see StateStorePlugin.spread). */
  spread?: { settings: SpreadSettings; tenants: TenantSpread };
  /** In the copy that runs one share under `spread:`: its share, given to the sources (ComponentContext.shard). */
  shard?: TenantShard;
  /**
   * Resolved with `noEnv`: the variables that were unset. What depended on them was not checked,
   * and components whose config did are left out: such a definition is for checking, not running.
   */
  unchecked?: { variables: string[] };
}

export interface ResolveOptions {
  registry: PluginRegistry;
  /** Environment for `${VAR}`. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Name used in error locations when the input is text. */
  file?: string;
  /** Directory for relative `use:` paths. Default: the file's directory, or the working directory. */
  baseDir?: string;
  /**
   * The caller supplies the state store itself (embedding, tests), so the file's `state:` does not
   * decide whether an exactly-once sink can commit atomically: the sink checks at start instead.
   */
  stateStoreGiven?: boolean;
  /**
   * Check the file without its environment (`plumline validate --no-env`, in CI without
   * production secrets): no variable is read — a `${VAR}` takes its default, else it is unset and
   * whatever depends on it goes unchecked — and plugins' preflight checks of the machine are
   * skipped. The result lists the unset variables (`unchecked`).
   */
  noEnv?: boolean;
  /** Run the plugins' preflight checks (default true; `plumline test`, which sets its own environment per test, skips them). */
  preflight?: boolean;
}

const SECTION_KIND = { sources: 'source', transforms: 'transform', sinks: 'sink' } as const satisfies Record<string, PluginKind>;

/** Reads and resolves a pipeline file from disk. */
export async function resolvePipelineFile(path: string, options: Omit<ResolveOptions, 'file'>): Promise<ResolvedPipeline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read pipeline file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return resolvePipeline(text, { ...options, file: path, baseDir: options.baseDir ?? dirname(resolve(path)) });
}

/**
 * Validates a pipeline (YAML text or an object) and resolves every component to its plugin.
 * Throws {@link ConfigErrors} listing every problem found, each located.
 */
export async function resolvePipeline(input: string | object, options: ResolveOptions): Promise<ResolvedPipeline> {
  const env = options.noEnv ? {} : (options.env ?? process.env);
  const file = options.file ?? (typeof input === 'string' ? '<pipeline>' : '<object>');
  const doc = typeof input === 'string' ? YamlDocument.parse(input, file, env, { allowUnset: options.noEnv }) : YamlDocument.fromObject(input, file);
  const top = validateConfig(pipelineFileSchema, doc.value, doc, []);
  if (top.ok) return new PipelineResolver(doc, top.data, options).resolve();
  // Checked without the environment, what came from an unset variable is not an error.
  const topErrors = top.errors.filter((e) => !dependsOnUnset(e, [doc]));
  // One run reports every mistake: the components and sections the pipeline schema took are
  // checked further, without the parts it refused (whose names are not reported as missing).
  const salvaged = withoutRefusedParts(doc.value);
  const rest = pipelineFileSchema.safeParse(salvaged.value);
  if (!rest.success) throw new ConfigErrors(top.errors);
  const resolver = new PipelineResolver(doc, rest.data, options, salvaged.removed);
  if (topErrors.length === 0) return resolver.resolve();
  const more = await resolver.resolve().then(
    () => [],
    (err: unknown) => (err instanceof ConfigErrors ? err.errors : []),
  );
  const line = (e: ConfigError) => (e.location?.line ?? 0) * 1e4 + (e.location?.column ?? 0);
  throw new ConfigErrors([...topErrors, ...more].sort((a, b) => line(a) - line(b)));
}

/**
 * Whether `error` is about a value made with a variable that was unset (read without the
 * environment): in `docs`, the document the error is located in holds such a value at its path.
 */
function dependsOnUnset(error: ConfigError, docs: readonly YamlDocument[]): boolean {
  const at = error.location;
  // An unknown key is wrong whatever its value; so is a template's problem that holds whatever the variables stand for (TEMPLATE_ISSUE).
  if (!at || error.code === 'CONFIG_UNKNOWN_KEY' || error.fields.holdsForAnyVariable === true) return false;
  return docs.some((d) => d.file === at.file && d.unset.paths.some((p) => at.path === p || at.path.startsWith(`${p}.`) || at.path.startsWith(`${p}[`)));
}

/**
 * `value` without what the pipeline schema refuses in it: unknown or broken top-level keys (their
 * defaults apply) and broken component entries; `removed` names those components.
 */
function withoutRefusedParts(value: unknown): { value: unknown; removed: ReadonlySet<string> } {
  const removed = new Set<string>();
  const result = pipelineFileSchema.safeParse(value);
  if (result.success || !value || typeof value !== 'object' || Array.isArray(value)) return { value, removed };
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const issue of result.error.issues) {
    const [top, name] = issue.path as (string | number)[];
    if (top === undefined) {
      if (issue.code === 'unrecognized_keys') for (const k of issue.keys) delete out[k];
    } else if (typeof top === 'string' && top in SECTION_KIND && name !== undefined && out[top] && typeof out[top] === 'object') {
      const section = { ...(out[top] as Record<string, unknown>) };
      delete section[String(name)];
      out[top] = section;
      removed.add(String(name));
    } else delete out[String(top)];
  }
  return { value: out, removed };
}

type Section = keyof typeof SECTION_KIND;

/**
 * Checks a pipeline file that passed the pipeline schema against everything else the file alone
 * decides — each component's plugin and config, the state store, inputs, cycles, exactly-once
 * prerequisites — collecting every located error before it throws them together.
 */
class PipelineResolver {
  private errors: ConfigError[] = [];
  /** The pipeline file and the files it includes: where errors about unset variables are told apart. */
  private readonly docs: YamlDocument[];
  private readonly secrets: string[] = [];
  /** Which section each component name is in. */
  private readonly names = new Map<string, Section>();
  /** Components whose plugin or config was refused. */
  private readonly unresolved = new Set<string>();
  private readonly registry: PluginRegistry;
  private readonly baseDir: string;

  constructor(
    private readonly doc: YamlDocument,
    private readonly def: PipelineFile,
    private readonly options: ResolveOptions,
    /** Components the pipeline schema refused (already reported): inputs naming them are not errors again. */
    private readonly refused: ReadonlySet<string> = new Set(),
  ) {
    this.registry = options.registry.clone();
    this.baseDir = options.baseDir ?? process.cwd();
    this.docs = [doc];
  }

  async resolve(): Promise<ResolvedPipeline> {
    const { sources, transforms, sinks } = await this.components();
    const state = this.stateStore();
    if (state && !this.options.stateStoreGiven) await this.preflight(state.bound, ['state']);
    const outputsOf = new Map(transforms.map((t) => [t.id, t.bound.outputs()] as const));
    // Every component's inputs, also of those whose config was refused: one run, every mistake.
    for (const section of ['transforms', 'sinks'] as const) {
      for (const [id, entry] of Object.entries(this.def[section])) this.checkInputs(section, id, (entry as { inputs?: string[] }).inputs ?? [], outputsOf);
    }
    for (const section of [sources, transforms, sinks] as ResolvedComponent[][]) this.checkConflicts(section);
    checkExactlyOnce(sinks, state?.bound.atomicTarget(), this.options.stateStoreGiven ?? false, this.doc, this.errors);
    checkCoPartitioning(sources, transforms, this.doc, this.errors);
    checkTaskSources(sources, sinks, state?.plugin, this.options.stateStoreGiven ?? false, this.doc, this.errors);
    const spread = this.spread(sources, sinks, state);
    const ordered = orderTransforms(transforms, (t) => this.errors.push(new ConfigError('CONFIG_CYCLE', `transform "${t}" is part of a cycle: inputs must form a DAG`, { location: this.doc.locate(['transforms', t, 'inputs']) })));
    if (this.options.noEnv) this.errors = this.errors.filter((e) => !dependsOnUnset(e, this.docs));
    if (this.errors.length) throw new ConfigErrors(this.errors);
    return {
      id: this.pipelineId(),
      file: this.doc.file,
      baseDir: this.baseDir,
      settings: this.def.runtime,
      deadLetterPath: this.def.dead_letter.path,
      deadLetterMaxRatio: deadLetterMaxRatio(this.def.dead_letter),
      state: state!,
      sources,
      transforms: ordered,
      sinks,
      secrets: this.secrets,
      ...(spread ? { spread } : {}),
      ...(this.options.noEnv ? { unchecked: { variables: [...new Set(this.docs.flatMap((d) => d.unset.variables))] } } : {}),
    };
  }

  private pipelineId(): string {
    return this.def.id ?? (this.options.file ? basename(this.options.file, extname(this.options.file)) : 'pipeline');
  }

  /**
   * `spread:` against the rest of the file: a state store that shares tenants out (and that this
   * file names), an exactly-once sink (a share's output and checkpoint commit together, and its
   * next owner fences the last), no source read whole by every copy. Codes:
   * - `CONFIG_SPREAD_STATE_NOT_SHARED` — the state store is not one every worker shares and that can share tenants out (kafka)
   * - `CONFIG_SPREAD_NOT_EXACTLY_ONCE` — a sink is not an exactly-once Kafka sink
   * - `CONFIG_SPREAD_SOURCE_NOT_SHARDED` — a source has no tenants to share (every copy would read it whole)
   */
  private spread(sources: readonly ResolvedComponent<SourcePlugin>[], sinks: readonly ResolvedComponent<SinkPlugin>[], state: ResolvedStateStore | undefined): ResolvedPipeline['spread'] {
    const section = this.def.spread;
    if (!section) return undefined;
    const id = this.pipelineId();
    const settings: SpreadSettings = { partitions: section.partitions, topic: section.topic ?? `plumline-tenants-${id}`, group: section.group ?? `${id}.spread`, sessionTimeoutMs: section.session_timeout };
    const at = this.doc.locate(['spread']);
    for (const s of sources) {
      if (s.bound.tasks()) {
        this.errors.push(new ConfigError('CONFIG_SPREAD_SOURCE_NOT_SHARDED', `source "${s.id}" already splits the pipeline into a task per partition (task_per_partition), and spread: splits it by tenants: set one of the two`, { location: this.doc.locate(['sources'], s.id), fields: { component: s.id } }));
      } else if (!s.bound.shardable()) {
        this.errors.push(new ConfigError('CONFIG_SPREAD_SOURCE_NOT_SHARDED', `source "${s.id}" has no accounts for spread: to share out, so every worker would read it whole: give it accounts (or accounts_file), or move it to a pipeline without spread:`, { location: this.doc.locate(['sources'], s.id), fields: { component: s.id } }));
      }
    }
    for (const s of sinks) {
      if (s.bound.atomicProblems(undefined) === undefined) {
        this.errors.push(new ConfigError('CONFIG_SPREAD_NOT_EXACTLY_ONCE', `sink "${s.id}" is not exactly-once: under spread: a share of tenants moves to another worker with its checkpoint, and only an exactly-once Kafka sink (exactly_once: true) commits its output with that checkpoint and fences the share's last owner; without it a moving share repeats or loses records. Use an exactly-once Kafka sink, or remove spread:`, { location: this.doc.locate(['sinks'], s.id), fields: { component: s.id } }));
      }
    }
    const byStore = state?.bound.spread(settings);
    if (this.options.stateStoreGiven) {
      this.errors.push(new ConfigError('CONFIG_SPREAD_STATE_NOT_SHARED', 'spread: runs a copy of the pipeline per share of tenants, each with its state in the store the file names: leave out the stateStore option and name a shared store in state:', { location: at }));
    } else if (state && !byStore) {
      // Located at state: when the file says which store, else (the default directory) at spread:.
      const written = (this.doc.value as { state?: unknown } | undefined)?.state !== undefined;
      this.errors.push(new ConfigError('CONFIG_SPREAD_STATE_NOT_SHARED', `spread: shares tenants out among workers with their checkpoints, which state "${state.plugin.type}" keeps on one machine and cannot share out: use state: { type: kafka, … }`, { location: written ? this.doc.locate(['state'], 'type') : at }));
    }
    return byStore ? { settings, tenants: byStore } : undefined;
  }

  /** Every component of the three sections, with unique names, each resolved against its plugin. */
  private async components(): Promise<{ sources: ResolvedComponent<SourcePlugin>[]; transforms: ResolvedComponent<OperatorPlugin>[]; sinks: ResolvedComponent<SinkPlugin>[] }> {
    const out = { sources: [] as ResolvedComponent[], transforms: [] as ResolvedComponent[], sinks: [] as ResolvedComponent[] };
    for (const section of ['sources', 'transforms', 'sinks'] as const) {
      for (const [id, entry] of Object.entries(this.def[section])) {
        if (this.names.has(id) || id === DEAD_LETTER_STREAM) {
          const message = id === DEAD_LETTER_STREAM ? `"${id}" is reserved for the dead-letter stream: rename the component` : `component name "${id}" is already used in ${this.names.get(id)}: names are unique across sources, transforms and sinks`;
          this.errors.push(new ConfigError('CONFIG_DUPLICATE_NAME', message, { location: this.doc.locate([section], id) }));
          continue;
        }
        this.names.set(id, section);
        const c = await this.component(section, id, entry as Record<string, unknown>);
        if (c) out[section].push(c);
        else this.unresolved.add(id);
      }
    }
    return out as { sources: ResolvedComponent<SourcePlugin>[]; transforms: ResolvedComponent<OperatorPlugin>[]; sinks: ResolvedComponent<SinkPlugin>[] };
  }

  /** One component: its plugin (by `type:` or `use:`) and its config checked against the plugin's schema. */
  private async component(section: Section, id: string, entry: Record<string, unknown>): Promise<ResolvedComponent | undefined> {
    const path: KeyPath = [section, id];
    const { type, use, inputs, ...rest } = entry as { type?: string; use?: string; inputs?: string[] };
    const plugin = use ? await this.loadedPlugin(section, path, use, type) : this.registeredPlugin(section, path, type, Object.keys(rest));
    if (!plugin) return undefined;
    const config = await this.withIncludes(plugin, path, rest);
    if (!config) return undefined;
    const binding = bindPlugin(plugin, this.parser(config, path));
    if (!binding) return undefined;
    await this.preflight(binding.bound, path);
    return { id, section, ...binding, inputs: inputs ?? [] };
  }

  /** Each plugin's check of its components of one section together (see PluginBase.conflicts). */
  private checkConflicts(components: readonly ResolvedComponent[]): void {
    const byPlugin = new Map<AnyPlugin, ResolvedComponent[]>();
    for (const c of components) if (c.plugin.conflicts) byPlugin.set(c.plugin, [...(byPlugin.get(c.plugin) ?? []), c]);
    for (const [plugin, list] of byPlugin) {
      const section = list[0]!.section;
      // Grouped by plugin: each config here is one this plugin's schema validated.
      for (const p of plugin.conflicts!(list.map(({ id, config }) => ({ id, config })))) {
        const last = p.path[p.path.length - 1];
        const path: KeyPath = [section, p.id, ...p.path];
        const location = typeof last === 'string' ? this.doc.locate(path.slice(0, -1), last) : this.doc.locate(path);
        this.errors.push(new ConfigError(p.code, p.message, { location, fields: { component: p.id } }));
      }
    }
  }

  /** The plugin's own checks of what `create` needs (see PluginBase.preflight), located under `path`. */
  private async preflight(bound: BoundBase, path: KeyPath): Promise<void> {
    if (this.options.preflight === false) return;
    const env = this.options.noEnv ? undefined : (this.options.env ?? process.env);
    const problems = await bound.preflight({ env, baseDir: this.baseDir, pipelineId: this.pipelineId(), componentId: String(path[path.length - 1]) });
    for (const p of problems) {
      const last = p.path[p.path.length - 1];
      const location = typeof last === 'string' ? this.doc.locate([...path, ...p.path.slice(0, -1)], last) : this.doc.locate([...path, ...p.path]);
      this.errors.push(new ConfigError(p.code, p.message, { location, fields: { component: String(path[path.length - 1]) } }));
    }
  }

  /** `config` with the files its plugin's `includes` name read in (see PluginBase.includes); undefined when one is wrong (reported). */
  private async withIncludes(plugin: AnyPlugin, path: KeyPath, config: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    let out = config;
    for (const { key, into } of plugin.includes ?? []) {
      const named = config[key];
      // Not a string: the schema says what is wrong with it.
      if (typeof named !== 'string') continue;
      if (config[into] !== undefined) {
        this.errors.push(new ConfigError('CONFIG_INCLUDE_CONFLICT', `set ${key} or ${into}, not both: ${key} names a file whose content is the ${into}`, { location: this.doc.locate(path, key), fields: { key } }));
        return undefined;
      }
      const file = resolve(this.baseDir, named);
      let inner: YamlDocument;
      try {
        inner = YamlDocument.parse(await readFile(file, 'utf8'), file, this.options.noEnv ? {} : (this.options.env ?? process.env), { allowUnset: this.options.noEnv });
        this.docs.push(inner);
      } catch (err) {
        if (err instanceof ConfigErrors) this.errors.push(...err.errors);
        else this.errors.push(new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read ${key} ${file}: ${(err as Error).message}`, { location: this.doc.locate(path, key), cause: err, fields: { key } }));
        return undefined;
      }
      const schema = fieldSchema(plugin.configSchema, into);
      const checked = schema ? validateConfig(schema, inner.value, inner, []) : { ok: true as const };
      if (!checked.ok) {
        this.errors.push(...checked.errors);
        return undefined;
      }
      out = { ...out, [into]: inner.value };
    }
    return out;
  }

  /** The plugin of `type:` among those registered. */
  private registeredPlugin(section: Section, path: KeyPath, type: string | undefined, keys: readonly string[] = []): AnyPlugin | undefined {
    const kind = SECTION_KIND[section];
    if (!type) {
      // `typ:`, `tpye:`: point at the key as written rather than only at the component.
      const written = keys.find((k) => closestName('type', [k]) !== undefined);
      this.errors.push(
        written
          ? new ConfigError('CONFIG_UNKNOWN_KEY', `unknown key "${written}": did you mean "type"? ("type" is required: one of ${this.registry.types(kind).join(', ')})`, { location: this.doc.locate(path, written), fields: { key: written } })
          : new ConfigError('CONFIG_MISSING_KEY', `missing required key "type": add the plugin type (one of ${this.registry.types(kind).join(', ')})`, { location: this.doc.locate(path) }),
      );
      return undefined;
    }
    const plugin = this.registry.get(kind, type);
    if (!plugin) {
      this.errors.push(
        new ConfigError('CONFIG_UNKNOWN_TYPE', `unknown ${kind} type "${type}": use one of ${this.registry.types(kind).join(', ')}, or load a plugin with use:`, {
          location: this.doc.locate([...path, 'type']),
          fields: { type },
        }),
      );
    }
    return plugin;
  }

  /** The one plugin of this kind (and `type:`, if given) that the module `use:` names exports; registered for the run. */
  private async loadedPlugin(section: Section, path: KeyPath, use: string, type: string | undefined): Promise<AnyPlugin | undefined> {
    const kind = SECTION_KIND[section];
    try {
      const found = (await loadPluginModule(use, this.baseDir)).filter((p) => p.kind === kind);
      const matching = type ? found.filter((p) => p.type === type) : found;
      if (matching.length !== 1) {
        const message =
          matching.length === 0
            ? `module "${use}" exports no ${kind} plugin${type ? ` of type "${type}"` : ''}`
            : `module "${use}" exports several ${kind} plugins (${matching.map((p) => p.type).join(', ')}): add type: to choose one`;
        this.errors.push(new ConfigError('CONFIG_PLUGIN_AMBIGUOUS', message, { location: this.doc.locate(path, 'use') }));
        return undefined;
      }
      const plugin = matching[0]!;
      if (!this.registry.get(kind, plugin.type)) this.registry.register(plugin);
      return plugin;
    } catch (err) {
      this.errors.push(new ConfigError('CONFIG_PLUGIN_LOAD', (err as Error).message, { location: this.doc.locate(path, 'use'), cause: err }));
      return undefined;
    }
  }

  /** The `state:` section against its plugin, or undefined (with the error) when it cannot be used. */
  private stateStore(): ResolvedStateStore | undefined {
    const { type, ...rest } = this.def.state as Record<string, unknown> & { type: string };
    const plugin = this.registry.get('state', type);
    if (!plugin) {
      this.errors.push(new ConfigError('CONFIG_UNKNOWN_TYPE', `unknown state store type "${type}": use one of ${this.registry.types('state').join(', ')}`, { location: this.doc.locate(['state', 'type']) }));
      return undefined;
    }
    return bindStateStore(plugin, this.parser(rest, ['state']));
  }

  /** Validates `config` (at `path`) with the schema a binding gives it, reporting what is wrong and noting its secrets. */
  private parser(config: Record<string, unknown>, path: KeyPath): ParseConfig {
    return (schema) => {
      const checked = validateConfig(schema, config, this.doc, path);
      if (!checked.ok) {
        this.errors.push(...checked.errors);
        return undefined;
      }
      collectSecrets(schema, config, this.secrets);
      return { data: checked.data };
    };
  }

  /**
   * Every input names a component with an output (and the right named output), or the
   * dead-letter stream for a sink. Codes:
   * - `CONFIG_BAD_INPUT` — an input names no component, a sink, a missing named output, or takes the dead-letter stream outside a sink
   */
  private checkInputs(section: Section, id: string, inputs: readonly string[], outputsOf: ReadonlyMap<string, readonly string[]>): void {
    inputs.forEach((ref, i) => {
      const problem = this.inputProblem(section, id, ref, outputsOf);
      if (problem) this.errors.push(new ConfigError('CONFIG_BAD_INPUT', problem, { location: this.doc.locate([section, id, 'inputs', i]) }));
    });
  }

  private inputProblem(from: Section, self: string, ref: string, outputsOf: ReadonlyMap<string, readonly string[]>): string | undefined {
    if (ref === DEAD_LETTER_STREAM) return from === 'sinks' ? undefined : `only sinks can take the ${DEAD_LETTER_STREAM} stream`;
    const [name, output] = ref.split('.', 2) as [string, string | undefined];
    const section = this.names.get(name);
    // A component refused for its config (already reported) has outputs nobody can know.
    if ((!section && this.refused.has(name)) || this.unresolved.has(name)) return undefined;
    const outs = outputsOf.get(name) ?? [];
    const named = (o: readonly string[]) => o.map((x) => `${name}.${x}`).join(', ');
    if (!section) {
      // What it may read: sources and transforms (their named outputs for a route), not itself.
      const choices = [...this.names.keys()].filter((n) => this.names.get(n) !== 'sinks' && n !== self).flatMap((n) => {
        const o = outputsOf.get(n) ?? [];
        return o.length ? o.map((x) => `${n}.${x}`) : [n];
      });
      const close = closestName(ref, choices);
      return `input "${ref}" names no component${close ? `: did you mean "${close}"?` : ''}${choices.length ? ` (${close ? 'all: ' : 'use one of '}${choices.join(', ')})` : ': add a source'}`;
    }
    if (section === 'sinks') return `input "${ref}" is a sink; sinks have no output`;
    if (output === undefined && outs.length > 0) return `component "${name}" has named outputs: take one of ${named(outs)}`;
    if (output !== undefined && !outs.includes(output)) return `component "${name}" has no output "${output}"${outs.length ? `: use one of ${named(outs)}` : ''}`;
    return undefined;
  }
}

/** Why an exactly-once sink must be alone, and what to do. */
export function exactlyOnceSinksMessage(sink: string): string {
  return `sink "${sink}" is exactly-once: it must be the pipeline's only sink (checkpoints are committed with its data); move other sinks to a pipeline of their own`;
}

/**
 * What the file alone decides about exactly-once sinks: one sink only, and a state store it can
 * commit atomically with (the sink's own checks: kind, cluster, topic).
 */
function checkExactlyOnce(sinks: readonly ResolvedComponent<SinkPlugin>[], target: AtomicTarget | undefined, stateStoreGiven: boolean, doc: YamlDocument, errors: ConfigError[]): void {
  for (const s of sinks) {
    const problems = s.bound.atomicProblems(target);
    if (problems === undefined) continue;
    if (sinks.length > 1) errors.push(new ConfigError('CONFIG_EXACTLY_ONCE_SINKS', exactlyOnceSinksMessage(s.id), { location: doc.locate(['sinks'], s.id), fields: { component: s.id } }));
    if (stateStoreGiven) continue;
    for (const p of problems) errors.push(new ConfigError(p.code, p.message, { location: doc.locate(['sinks', s.id], p.key), fields: { component: s.id } }));
  }
}

/**
 * Operators that need every event of a key in one worker, behind a partitioned source: refused
 * unless the source declares the records keyed by the operator's key, or the operator accepts
 * seeing a partition's share. Upstream is followed through other transforms.
 */
function checkCoPartitioning(sources: readonly ResolvedComponent<SourcePlugin>[], transforms: readonly ResolvedComponent<OperatorPlugin>[], doc: YamlDocument, errors: ConfigError[]): void {
  const byId = new Map<string, ResolvedComponent>([...sources, ...transforms].map((c) => [c.id, c]));
  const sourcesUpstream = (c: ResolvedComponent, seen = new Set<string>()): ResolvedComponent<SourcePlugin>[] =>
    c.inputs.flatMap((ref) => {
      const up = byId.get(ref.split('.', 1)[0]!);
      if (!up || seen.has(up.id)) return [];
      seen.add(up.id);
      return up.section === 'sources' ? [up as ResolvedComponent<SourcePlugin>] : sourcesUpstream(up, seen);
    });
  for (const t of transforms) {
    const key = t.bound.partitionKey();
    if (!key || key.perPartition) continue;
    for (const s of sourcesUpstream(t)) {
      const partitioning = s.bound.partitioning();
      if (!partitioning) continue;
      const keyedBy = partitioning.keyedBy;
      const joinedByAny = key.anyOf === true && key.fields.length > 1;
      if (!joinedByAny && keyedBy && keyedBy.length === key.fields.length && keyedBy.every((f) => key.fields.includes(f))) continue;
      const declared = keyedBy ? `keyed by [${keyedBy.join(', ')}]` : 'not declared as keyed by anything';
      const fix = joinedByAny ? `its events meet through any of [${key.fields.join(', ')}], which no keying of the topic puts in one partition: join on one field` : `key the topic by [${key.fields.join(', ')}] and say so on the source (keyed_by)`;
      errors.push(
        new ConfigError('CONFIG_NOT_CO_PARTITIONED', `"${t.id}" needs every event of a key [${key.fields.join(', ')}] in one worker, but source "${s.id}" is partitioned and its records are ${declared}: ${fix}, or set per_partition: true on "${t.id}" to work within each worker's partitions only`, {
          location: doc.locate(['transforms', t.id], key.configKey),
          fields: { component: t.id, source: s.id },
        }),
      );
    }
  }
}

/**
 * A source that splits the pipeline into tasks (one copy of the pipeline per task) must be the
 * only source, since every other source would be read once per task; its state must be in a
 * store all workers share, since a task's checkpoint and operator state move with it; and no
 * sink may write this machine's files (SinkPlugin.localOutput), which every copy would write.
 */
function checkTaskSources(sources: readonly ResolvedComponent<SourcePlugin>[], sinks: readonly ResolvedComponent<SinkPlugin>[], state: StateStorePlugin | undefined, stateStoreGiven: boolean, doc: YamlDocument, errors: ConfigError[]): void {
  for (const s of sources) {
    if (!s.bound.tasks()) continue;
    const fields = { component: s.id };
    for (const k of sinks.filter((k) => k.plugin.localOutput)) {
      errors.push(new ConfigError('CONFIG_TASKS_LOCAL_SINK', `sink "${k.id}" writes files on this machine, and source "${s.id}" runs a copy of the pipeline per task (task_per_partition): every copy would write the same files and cut another's after a crash, and a task moving to another worker would leave its output behind. Write to Kafka from this pipeline, and archive to files from a pipeline that reads that topic without task_per_partition`, { location: doc.locate(['sinks'], k.id), fields: { component: k.id, source: s.id } }));
    }
    if (sources.length > 1) {
      errors.push(new ConfigError('CONFIG_TASKS_NOT_ALONE', `source "${s.id}" runs a copy of the pipeline per task (per partition), so it must be the pipeline's only source; the others would be read once per task: move them to a pipeline of their own`, { location: doc.locate(['sources'], s.id), fields }));
    }
    if (stateStoreGiven) {
      errors.push(new ConfigError('CONFIG_TASKS_STATE_GIVEN', `source "${s.id}" runs a copy of the pipeline per task, each with a state of its own: leave out the stateStore option and name a shared store in the file's state: section`, { fields }));
    } else if (state && !state.sharedByWorkers) {
      errors.push(new ConfigError('CONFIG_TASKS_STATE_NOT_SHARED', `source "${s.id}" hands tasks (partitions) from worker to worker with their checkpoints and operator state, which state "${state.type}" keeps on one machine: use a store all workers share (state: { type: kafka, … })`, { location: doc.locate(['state'], 'type'), fields }));
    }
  }
}

function orderTransforms(transforms: ResolvedComponent<OperatorPlugin>[], onCycle: (id: string) => void): ResolvedComponent<OperatorPlugin>[] {
  const byId = new Map(transforms.map((t) => [t.id, t]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: ResolvedComponent<OperatorPlugin>[] = [];
  const visit = (id: string): void => {
    const s = state.get(id);
    if (s === 'done') return;
    if (s === 'visiting') {
      onCycle(id);
      return;
    }
    state.set(id, 'visiting');
    const t = byId.get(id)!;
    for (const ref of t.inputs) {
      const name = ref.split('.', 1)[0]!;
      if (byId.has(name)) visit(name);
    }
    state.set(id, 'done');
    out.push(t);
  };
  for (const t of transforms) visit(t.id);
  return out;
}

export { PluginError };
