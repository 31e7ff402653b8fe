import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CliIo } from './main.js';
import { pluginFiles, type PluginKind } from './scaffold/plugin-templates.js';

/** The @plumline/core range a new plugin depends on. */
export const CORE_VERSION_RANGE = '^0.1.0';
const KINDS = new Set(['source', 'operator', 'sink']);

/**
 * `plumline new plugin <name> --kind source|operator|sink [--dir <parent>]`: writes a plugin
 * package (config schema, plugin, tests that run the conformance suite, README) that builds and
 * passes its tests as generated.
 */
export async function newPluginCommand(args: readonly string[], opts: { kind: string | undefined; dir: string | undefined }, io: CliIo): Promise<number> {
  const [what, name] = args;
  if (what !== 'plugin' || !name) {
    io.stderr.write('error: usage: plumline new plugin <name> --kind source|operator|sink [--dir <parent directory>]\n');
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
  const parts = name.split('-');
  const pascal = parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
  const files = pluginFiles({ name, type: parts.join('_'), pascal, camel: pascal[0]!.toLowerCase() + pascal.slice(1), kind: opts.kind as PluginKind, coreVersion: CORE_VERSION_RANGE });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(target, path)), { recursive: true });
    await writeFile(join(target, path), text);
  }
  io.stdout.write(`created ${target} (${Object.keys(files).length} files): cd ${name} && npm install && npm run build && npm test\n`);
  return 0;
}
