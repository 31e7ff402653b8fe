import { isAbsolute, resolve } from 'node:path';
import { resolvePackageEntry } from './util/resolve-package.js';
import { pathToFileURL } from 'node:url';
import { PluginError } from './errors.js';
import { isPlugin, type AnyPlugin, type PluginKind } from './plugin.js';

type ByKind = { [K in PluginKind]: Extract<AnyPlugin, { kind: K }> };

/** The set of plugin types a pipeline can use. Types are unique per kind (a `file` source and a `file` sink may coexist). */
export class PluginRegistry {
  private readonly plugins = new Map<string, AnyPlugin>();

  constructor(plugins: readonly AnyPlugin[] = []) {
    for (const p of plugins) this.register(p);
  }

  /** Adds `plugin`; a second plugin of the same kind and type is refused. */
  register(plugin: AnyPlugin): this {
    if (!isPlugin(plugin)) {
      throw new PluginError('PLUGIN_INVALID', 'not a plugin: make it with defineSource, defineOperator, defineSink or defineStateStore');
    }
    const key = `${plugin.kind}:${plugin.type}`;
    if (this.plugins.has(key)) {
      throw new PluginError('PLUGIN_DUPLICATE_TYPE', `a ${plugin.kind} plugin of type "${plugin.type}" is already registered`, {
        fields: { kind: plugin.kind, type: plugin.type },
      });
    }
    this.plugins.set(key, plugin);
    return this;
  }

  get<K extends PluginKind>(kind: K, type: string): ByKind[K] | undefined {
    return this.plugins.get(`${kind}:${type}`) as ByKind[K] | undefined;
  }

  types(kind: PluginKind): string[] {
    return [...this.plugins.values()].filter((p) => p.kind === kind).map((p) => p.type).sort();
  }

  all(): AnyPlugin[] {
    return [...this.plugins.values()];
  }

  /** A copy to which a pipeline's `use:` plugins can be added without touching this one. */
  clone(): PluginRegistry {
    return new PluginRegistry(this.all());
  }
}

/**
 * Loads the plugins a module exports (its default export and every named export that is a
 * plugin, or an array of them). `specifier` is a path (relative to `baseDir`) or a package name.
 */
export async function loadPluginModule(specifier: string, baseDir: string): Promise<AnyPlugin[]> {
  let url: string;
  if (specifier.startsWith('.') || isAbsolute(specifier)) {
    url = pathToFileURL(resolve(baseDir, specifier)).href;
  } else {
    // A package installed beside the pipeline file (or above it); else as Node resolves it from here.
    const entry = resolvePackageEntry(specifier, baseDir);
    url = entry ? pathToFileURL(entry).href : specifier;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const where = url === specifier ? ` (not found in node_modules from ${baseDir} upward: install it beside the pipeline file)` : '';
    throw new PluginError('PLUGIN_LOAD_FAILED', `cannot load plugin module "${specifier}"${where}: ${(err as Error).message}`, {
      cause: err,
      fields: { specifier },
    });
  }
  const found = exportedPlugins(mod);
  if (found.length === 0) {
    throw new PluginError('PLUGIN_NOT_FOUND', `module "${specifier}" exports no plugin (export one made with defineSource, defineOperator or defineSink)`, {
      fields: { specifier },
    });
  }
  return found;
}

/** The plugins module namespace `mod` exports: its default export and every named export that is a plugin, or an array of them; each once. */
export function exportedPlugins(mod: Readonly<Record<string, unknown>>): AnyPlugin[] {
  const found = new Set<AnyPlugin>();
  for (const value of Object.values(mod)) {
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) if (isPlugin(v)) found.add(v);
  }
  return [...found];
}
