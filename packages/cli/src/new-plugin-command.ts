import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { CliIo } from './main.js';
import { pluginFiles, type PluginKind } from './scaffold/plugin-templates.js';

/** The @plumline/core range a new plugin depends on. */
export const CORE_VERSION_RANGE = '^0.1.0';
const KINDS = new Set(['source', 'operator', 'sink']);

/**
 * `plumline new plugin <name> --kind source|operator|sink [--dir <parent>] [--core <tgz>]`: writes a plugin
 * package (config schema, plugin, tests that run the conformance suite, README) that builds and
 * passes its tests as generated.
 */
export async function newPluginCommand(args: readonly string[], opts: { kind: string | undefined; dir: string | undefined; core?: string | undefined }, io: CliIo): Promise<number> {
  const [what, name] = args;
  if (what !== 'plugin' || !name) {
    io.stderr.write('error: usage: plumline new plugin <name> --kind source|operator|sink [--dir <parent directory>] [--core <core.tgz>]\n');
    return 2;
  }
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
    io.stderr.write(`error: the plugin name "${name}" must be kebab-case (e.g. acme-sink)\n`);
    return 2;
  }
  if (!opts.kind || !KINDS.has(opts.kind)) {
    io.stderr.write('error: --kind must be source, operator or sink\n');
    return 2;
  }
  const target = resolve(opts.dir ?? '.', name);
  if (await stat(target).then(() => true, () => false)) {
    io.stderr.write(`error: ${target} already exists; choose another name or --dir\n`);
    return 2;
  }
  let coreSource: string | undefined;
  if (opts.core !== undefined) {
    coreSource = resolve(opts.core);
    if (!(await stat(coreSource).then((s) => s.isFile(), () => false))) {
      io.stderr.write(`error: --core ${opts.core}: no such file; give the @plumline/core tarball (pnpm run pack:all in a plumline clone writes packs/plumline-core-<version>.tgz)\n`);
      return 2;
    }
  }
  // Relative to the plugin (as npm reads file: specs), so its package.json holds no path of this machine.
  const files = pluginFiles({ ...pluginNames(name, opts.kind as PluginKind), kind: opts.kind as PluginKind, coreVersion: CORE_VERSION_RANGE, ...(coreSource ? { coreSource: `file:${relative(target, coreSource)}` } : {}) });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(target, path)), { recursive: true });
    await writeFile(join(target, path), text);
  }
  io.stdout.write(`created ${target} (${Object.keys(files).length} files): cd ${name} && npm install && npm run build && npm test\n`);
  return 0;
}

/**
 * The identifiers of plugin `name`: the kind a package name ends with is not repeated
 * (`acme-sink` → type `acme`, `acmeSink`, `AcmeConfig`), as the built-ins are named.
 */
export function pluginNames(name: string, kind: PluginKind): { name: string; type: string; pascal: string; camel: string } {
  const all = name.split('-');
  const kindWords = kind === 'operator' ? ['operator', 'transform'] : [kind];
  const parts = all.length > 1 && kindWords.includes(all.at(-1)!) ? all.slice(0, -1) : all;
  const pascal = parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
  return { name, type: parts.join('_'), pascal, camel: pascal[0]!.toLowerCase() + pascal.slice(1) };
}
