import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, ConfigErrors, PluginError } from '../errors.js';
import type { AnyPlugin, AtomicTarget, OperatorPlugin, PluginKind, SinkPlugin, SourcePlugin, StateStorePlugin } from '../plugin.js';
import { loadPluginModule, type PluginRegistry } from '../registry.js';
import { collectSecrets } from '../schema.js';
import { validateConfig } from '../config/validate.js';
import { YamlDocument, type KeyPath } from '../config/yaml-document.js';
import { DEAD_LETTER_STREAM, pipelineFileSchema, type PipelineFile, type RuntimeSettings } from '../config/pipeline-schema.js';

export interface ResolvedComponent<P extends AnyPlugin = AnyPlugin> {
  id: string;
  section: 'sources' | 'transforms' | 'sinks';
  plugin: P;
  config: unknown;
  inputs: string[];
}

/** A pipeline file checked against the pipeline schema and every plugin's schema. */
export interface ResolvedPipeline {
  id: string;
  file: string;
  baseDir: string;
  settings: RuntimeSettings;
  deadLetterPath: string;
  state: { plugin: StateStorePlugin; config: unknown };
  sources: ResolvedComponent<SourcePlugin>[];
  /** In an order where every transform comes after its inputs. */
  transforms: ResolvedComponent<OperatorPlugin>[];
  sinks: ResolvedComponent<SinkPlugin>[];
  /** Values of secret fields, to redact from logs. */
  secrets: string[];
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
  const env = options.env ?? process.env;
  const file = options.file ?? (typeof input === 'string' ? '<pipeline>' : '<object>');
  const doc = typeof input === 'string' ? YamlDocument.parse(input, file, env) : YamlDocument.fromObject(input, file);
  const top = validateConfig(pipelineFileSchema, doc.value, doc, []);
  if (!top.ok) throw new ConfigErrors(top.errors);
  const def: PipelineFile = top.data;
  const baseDir = options.baseDir ?? process.cwd();
  const registry = options.registry.clone();
  const errors: ConfigError[] = [];
  const secrets: string[] = [];

  const resolveComponent = async <K extends keyof typeof SECTION_KIND>(
    section: K,
    id: string,
    entry: Record<string, unknown>,
  ): Promise<ResolvedComponent | undefined> => {
    const kind = SECTION_KIND[section];
    const path: KeyPath = [section, id];
    const { type, use, inputs, ...rest } = entry as { type?: string; use?: string; inputs?: string[] };
    let plugin: AnyPlugin | undefined;
    if (use) {
      try {
        const found = (await loadPluginModule(use, baseDir)).filter((p) => p.kind === kind);
        const matching = type ? found.filter((p) => p.type === type) : found;
        if (matching.length !== 1) {
          errors.push(
            new ConfigError(
              'CONFIG_PLUGIN_AMBIGUOUS',
              matching.length === 0
                ? `module "${use}" exports no ${kind} plugin${type ? ` of type "${type}"` : ''}`
                : `module "${use}" exports several ${kind} plugins (${matching.map((p) => p.type).join(', ')}): add type: to choose one`,
              { location: doc.locate(path, 'use') },
            ),
          );
          return undefined;
        }
        plugin = matching[0]!;
        if (!registry.get(kind, plugin.type)) registry.register(plugin);
      } catch (err) {
        errors.push(new ConfigError('CONFIG_PLUGIN_LOAD', (err as Error).message, { location: doc.locate(path, 'use'), cause: err }));
        return undefined;
      }
    } else if (!type) {
      errors.push(new ConfigError('CONFIG_MISSING_KEY', `missing required key "type": add the plugin type (one of ${registry.types(kind).join(', ')})`, { location: doc.locate(path) }));
      return undefined;
    } else {
      plugin = registry.get(kind, type);
      if (!plugin) {
        errors.push(
          new ConfigError('CONFIG_UNKNOWN_TYPE', `unknown ${kind} type "${type}": use one of ${registry.types(kind).join(', ')}, or load a plugin with use:`, {
            location: doc.locate([...path, 'type']),
            fields: { type },
          }),
        );
        return undefined;
      }
    }
    const checked = validateConfig(plugin.configSchema as z.ZodType, rest, doc, path);
    if (!checked.ok) {
      errors.push(...checked.errors);
      return undefined;
    }
    collectSecrets(plugin.configSchema as z.ZodType, rest, secrets);
    return { id, section, plugin, config: checked.data, inputs: inputs ?? [] };
  };

  const sources: ResolvedComponent<SourcePlugin>[] = [];
  const transforms: ResolvedComponent<OperatorPlugin>[] = [];
  const sinks: ResolvedComponent<SinkPlugin>[] = [];
  const names = new Map<string, string>();
  for (const section of ['sources', 'transforms', 'sinks'] as const) {
    for (const [id, entry] of Object.entries(def[section])) {
      if (names.has(id) || id === DEAD_LETTER_STREAM) {
        errors.push(
          new ConfigError('CONFIG_DUPLICATE_NAME', id === DEAD_LETTER_STREAM ? `"${id}" is reserved for the dead-letter stream: rename the component` : `component name "${id}" is already used in ${names.get(id)}: names are unique across sources, transforms and sinks`, {
            location: doc.locate([section], id),
          }),
        );
        continue;
      }
      names.set(id, section);
      const c = await resolveComponent(section, id, entry as Record<string, unknown>);
      if (!c) continue;
      if (section === 'sources') sources.push(c as ResolvedComponent<SourcePlugin>);
      else if (section === 'transforms') transforms.push(c as ResolvedComponent<OperatorPlugin>);
      else sinks.push(c as ResolvedComponent<SinkPlugin>);
    }
  }

  // State store.
  const stateEntry = def.state as Record<string, unknown> & { type: string };
  const { type: stateType, ...stateRest } = stateEntry;
  const statePlugin = registry.get('state', stateType);
  let stateConfig: unknown;
  if (!statePlugin) {
    errors.push(
      new ConfigError('CONFIG_UNKNOWN_TYPE', `unknown state store type "${stateType}": use one of ${registry.types('state').join(', ')}`, {
        location: doc.locate(['state', 'type']),
      }),
    );
  } else {
    const checked = validateConfig(statePlugin.configSchema as z.ZodType, stateRest, doc, ['state']);
    if (checked.ok) {
      stateConfig = checked.data;
      collectSecrets(statePlugin.configSchema as z.ZodType, stateRest, secrets);
    } else errors.push(...checked.errors);
  }

  // Inputs: every reference exists, outputs exist, no cycles.
  const outputsOf = new Map<string, readonly string[]>();
  for (const t of transforms) outputsOf.set(t.id, t.plugin.outputs?.(t.config as never) ?? []);
  const checkInputs = (c: ResolvedComponent): void => {
    c.inputs.forEach((ref, i) => {
      const loc = doc.locate([c.section, c.id, 'inputs', i]);
      if (ref === DEAD_LETTER_STREAM) {
        if (c.section !== 'sinks') errors.push(new ConfigError('CONFIG_BAD_INPUT', `only sinks can take the ${DEAD_LETTER_STREAM} stream`, { location: loc }));
        return;
      }
      const [name, output] = ref.split('.', 2) as [string, string | undefined];
      const section = names.get(name);
      if (!section) {
        errors.push(new ConfigError('CONFIG_BAD_INPUT', `input "${ref}" names no component: use one of ${[...names.keys()].filter((n) => names.get(n) !== 'sinks').join(', ')}`, { location: loc }));
      } else if (section === 'sinks') {
        errors.push(new ConfigError('CONFIG_BAD_INPUT', `input "${ref}" is a sink; sinks have no output`, { location: loc }));
      } else if (output === undefined && (outputsOf.get(name) ?? []).length > 0) {
        const outs = outputsOf.get(name)!;
        errors.push(new ConfigError('CONFIG_BAD_INPUT', `component "${name}" has named outputs: take one of ${outs.map((o) => `${name}.${o}`).join(', ')}`, { location: loc }));
      } else if (output !== undefined && !(outputsOf.get(name) ?? []).includes(output)) {
        const outs = outputsOf.get(name) ?? [];
        errors.push(new ConfigError('CONFIG_BAD_INPUT', `component "${name}" has no output "${output}"${outs.length ? `: use one of ${outs.map((o) => `${name}.${o}`).join(', ')}` : ''}`, { location: loc }));
      }
    });
  };
  for (const c of [...transforms, ...sinks]) checkInputs(c);

  checkExactlyOnce(sinks, statePlugin && stateConfig !== undefined ? statePlugin.atomicTarget?.(stateConfig as never) : undefined, options.stateStoreGiven ?? false, doc, errors);

  const ordered = orderTransforms(transforms, (t) => errors.push(new ConfigError('CONFIG_CYCLE', `transform "${t}" is part of a cycle: inputs must form a DAG`, { location: doc.locate(['transforms', t, 'inputs']) })));
  if (errors.length) throw new ConfigErrors(errors);

  const fileBase = options.file ? basename(options.file, extname(options.file)) : 'pipeline';
  return {
    id: def.id ?? fileBase,
    file,
    baseDir,
    settings: def.runtime,
    deadLetterPath: def.dead_letter.path,
    state: { plugin: statePlugin!, config: stateConfig },
    sources,
    transforms: ordered,
    sinks,
    secrets,
  };
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
    const problems = s.plugin.atomicProblems?.(s.config as never, target);
    if (problems === undefined) continue;
    if (sinks.length > 1) errors.push(new ConfigError('CONFIG_EXACTLY_ONCE_SINKS', exactlyOnceSinksMessage(s.id), { location: doc.locate(['sinks'], s.id), fields: { component: s.id } }));
    if (stateStoreGiven) continue;
    for (const p of problems) errors.push(new ConfigError(p.code, p.message, { location: doc.locate(['sinks', s.id], p.key), fields: { component: s.id } }));
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
