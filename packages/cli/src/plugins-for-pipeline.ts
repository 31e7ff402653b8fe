import { corePlugins, PluginRegistry, type AnyPlugin, type PluginKind } from '@plumline/core';
import { readPipelineFile } from '@plumline/core/host';

/**
 * The CLI's plugin packages, each imported only when a pipeline names one of its types: importing
 * them all costs ≈ 0.2 s and 20 MB before the first event (kafkajs, undici, libphonenumber's
 * loader), which a stdin → file pipeline never uses.
 */
export const PLUGIN_PACKAGES = {
  'sink-file': async (): Promise<AnyPlugin[]> => [(await import('@plumline/sink-file')).fileSink],
  'source-plum': async (): Promise<AnyPlugin[]> => {
    const m = await import('@plumline/source-plum');
    return [m.plumSource, m.plumParseOperator];
  },
  'source-iplum': async (): Promise<AnyPlugin[]> => {
    const m = await import('@plumline/source-iplum');
    return [m.iplumSource, m.iplumCallbacksSource];
  },
  kafka: async (): Promise<AnyPlugin[]> => {
    const m = await import('@plumline/kafka');
    return [m.kafkaSource, m.kafkaSink, m.kafkaStatePlugin];
  },
  operators: async (): Promise<AnyPlugin[]> => [...(await import('@plumline/operators')).callOperators],
} as const;

type PackageName = keyof typeof PLUGIN_PACKAGES;

/** Which package holds each `kind:type` (a test checks this against the packages' exports). */
export const PACKAGE_OF_TYPE: Readonly<Record<string, PackageName>> = {
  'sink:file': 'sink-file',
  'source:plum': 'source-plum',
  'transform:plum_parse': 'source-plum',
  'source:iplum': 'source-iplum',
  'source:iplum_callbacks': 'source-iplum',
  'source:kafka': 'kafka',
  'sink:kafka': 'kafka',
  'state:kafka': 'kafka',
  'transform:enrich': 'operators',
  'transform:correlate': 'operators',
  'transform:mask': 'operators',
};

/** The pipeline file's sections that hold components, by the kind of plugin they name. */
const SECTIONS: readonly [string, PluginKind][] = [
  ['sources', 'source'],
  ['transforms', 'transform'],
  ['sinks', 'sink'],
];

/** `kind:type` of every component `def` names; undefined when its shape is not one to read types from. */
export function namedTypes(def: unknown): string[] | undefined {
  if (def === null || typeof def !== 'object') return undefined;
  const d = def as Record<string, unknown>;
  const named: string[] = [];
  const add = (kind: PluginKind, c: unknown) => {
    const type = c !== null && typeof c === 'object' ? (c as { type?: unknown }).type : undefined;
    if (typeof type === 'string') named.push(`${kind}:${type}`);
  };
  for (const [section, kind] of SECTIONS) {
    const group = d[section];
    if (group === undefined) continue;
    if (group === null || typeof group !== 'object') return undefined;
    for (const c of Object.values(group)) add(kind, c);
  }
  if (d.state !== undefined) add('state', d.state);
  return named;
}

/**
 * A registry with core's plugins and the packages that `types` (as from {@link namedTypes}) need.
 * Every package is loaded when `types` is undefined or names a type no package is known to hold,
 * so that an unknown type is reported against the full list of types.
 */
export async function registryFor(types: readonly string[] | undefined): Promise<PluginRegistry> {
  const core = new Set(corePlugins.map((p) => `${p.kind}:${p.type}`));
  const needed = new Set<PackageName>();
  let all = types === undefined;
  for (const t of types ?? []) {
    const pkg = PACKAGE_OF_TYPE[t];
    if (pkg) needed.add(pkg);
    else if (!core.has(t)) all = true;
  }
  const packages = all ? (Object.keys(PLUGIN_PACKAGES) as PackageName[]) : [...needed];
  const loaded = await Promise.all(packages.map((p) => PLUGIN_PACKAGES[p]()));
  return new PluginRegistry([...corePlugins, ...loaded.flat()]);
}

/**
 * Unset (or empty) variables read as a placeholder while looking for types: `validate` and `run`
 * report them, with their line, when they read the file for real.
 */
const LENIENT_ENV: Readonly<Record<string, string | undefined>> = new Proxy(process.env, { get: (env, name) => (typeof name === 'string' ? env[name] || 'unset' : undefined) });

/** {@link registryFor} the types the pipeline file names; every package when the file cannot be read. */
export async function registryForFile(file: string): Promise<PluginRegistry> {
  let types: string[] | undefined;
  try {
    types = namedTypes(await readPipelineFile(file, LENIENT_ENV));
  } catch {
    // Unreadable or not YAML: the full registry, and the real read reports what is wrong.
  }
  return registryFor(types);
}
