import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corePlugins, PluginRegistry, type AnyPlugin, type PluginKind } from '@plumline/core';
import { checkedAgainstManifest, exportedPlugins, readPipelineFile, readPluginManifest, type PluginPackage } from '@plumline/core/host';

/** The CLI package's directory: its package.json, and where its dependencies are found from. */
const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));

let shipped: readonly PluginPackage[] | undefined;

/**
 * The plugin packages the CLI ships: those of its dependencies whose package.json carries a
 * plugin manifest (`"plumline": { "plugins": [...] }`, see `@plumline/core/host`'s
 * readPluginManifest). Read from the package.json files, not by importing the packages: importing
 * them all costs ≈ 0.2 s and 20 MB before the first event (kafkajs, undici, libphonenumber's
 * loader), which a stdin → file pipeline never uses.
 */
export function pluginPackages(): readonly PluginPackage[] {
  if (shipped === undefined) {
    const { dependencies } = JSON.parse(readFileSync(join(CLI_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    shipped = Object.keys(dependencies).flatMap((name) => readPluginManifest(name, CLI_DIR) ?? []);
  }
  return shipped;
}

/** Which shipped package holds each `kind:type`, from their manifests. */
export function packageOfType(): ReadonlyMap<string, PluginPackage> {
  return new Map(pluginPackages().flatMap((pkg) => pkg.manifest.plugins.map((p) => [`${p.kind}:${p.type}`, pkg] as const)));
}

/** Imports package `pkg` (as the CLI resolves it) and returns its plugins, every type its manifest names among them. */
export async function loadPluginPackage(pkg: PluginPackage): Promise<readonly AnyPlugin[]> {
  return checkedAgainstManifest(pkg, exportedPlugins((await import(pkg.name)) as Record<string, unknown>));
}

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
  // A component without a type (a mistyped `type:` key) is told the types it may take: all of them.
  let untyped = false;
  const add = (kind: PluginKind, c: unknown) => {
    const type = c !== null && typeof c === 'object' ? (c as { type?: unknown }).type : undefined;
    if (typeof type === 'string') named.push(`${kind}:${type}`);
    else untyped = true;
  };
  for (const [section, kind] of SECTIONS) {
    const group = d[section];
    if (group === undefined) continue;
    if (group === null || typeof group !== 'object') return undefined;
    for (const c of Object.values(group)) add(kind, c);
  }
  if (d.state !== undefined) add('state', d.state);
  return untyped ? undefined : named;
}

/**
 * A registry with core's plugins and the packages that `types` (as from {@link namedTypes}) need.
 * Every package is loaded when `types` is undefined or names a type no package is known to hold,
 * so that an unknown type is reported against the full list of types.
 */
export async function registryFor(types: readonly string[] | undefined): Promise<PluginRegistry> {
  const core = new Set(corePlugins.map((p) => `${p.kind}:${p.type}`));
  const holders = packageOfType();
  const needed = new Set<PluginPackage>();
  let all = types === undefined;
  for (const t of types ?? []) {
    const pkg = holders.get(t);
    if (pkg) needed.add(pkg);
    else if (!core.has(t)) all = true;
  }
  const packages = all ? pluginPackages() : [...needed];
  const loaded = await Promise.all(packages.map(loadPluginPackage));
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
