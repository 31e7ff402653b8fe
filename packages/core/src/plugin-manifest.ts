import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PluginError } from './errors.js';
import type { AnyPlugin } from './plugin.js';
import { resolvePackageDir } from './util/resolve-package.js';

/**
 * The `plumline` field of a plugin package's package.json: the plugins the package exports, by
 * kind and type, readable without importing the package (as Node-RED's `node-red` field lists a
 * package's nodes). A host reads it to import a package only when a pipeline names one of its types.
 *
 * ```json
 * "plumline": { "plugins": [{ "kind": "sink", "type": "file" }] }
 * ```
 */
export const pluginManifestSchema = z.strictObject({
  plugins: z
    .array(z.strictObject({ kind: z.enum(['source', 'transform', 'sink', 'state']), type: z.string().min(1) }))
    .min(1)
    .describe('Every plugin the package exports: its kind (source, transform, sink, state) and its type (what `type:` names in a pipeline).'),
});
/** A plugin package's manifest, validated. */
export type PluginManifest = z.output<typeof pluginManifestSchema>;

/** An installed plugin package and its manifest. */
export interface PluginPackage {
  readonly name: string;
  /** The package's directory (where its package.json is). */
  readonly dir: string;
  readonly manifest: PluginManifest;
}

/**
 * The manifest of package `name` as an import from `fromDir` would find the package (node_modules
 * folders upward). Undefined when the package is not installed there or its package.json has no
 * `plumline` field; PLUGIN_MANIFEST_INVALID, naming the file, when the field is not a manifest.
 */
export function readPluginManifest(name: string, fromDir: string): PluginPackage | undefined {
  const dir = resolvePackageDir(name, fromDir);
  if (dir === undefined) return undefined;
  const file = join(dir, 'package.json');
  const field = (JSON.parse(readFileSync(file, 'utf8')) as { plumline?: unknown }).plumline;
  if (field === undefined) return undefined;
  const parsed = pluginManifestSchema.safeParse(field);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `plumline.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PluginError('PLUGIN_MANIFEST_INVALID', `${file}: the plugin manifest ("plumline" field) is not one: ${problems}. It lists the package's plugins: { "plugins": [{ "kind": "sink", "type": "file" }] }`, { fields: { package: name } });
  }
  return { name, dir, manifest: parsed.data };
}

/**
 * `plugins` (what package `pkg` exports), checked against its manifest: PLUGIN_MANIFEST_MISMATCH
 * when a type the manifest names is not among them, since a pipeline naming it would then be told
 * the type is unknown although the package claims it.
 */
export function checkedAgainstManifest(pkg: PluginPackage, plugins: readonly AnyPlugin[]): readonly AnyPlugin[] {
  const exported = new Set(plugins.map((p) => `${p.kind}:${p.type}`));
  const missing = pkg.manifest.plugins.map((p) => `${p.kind}:${p.type}`).filter((k) => !exported.has(k));
  if (missing.length > 0) {
    throw new PluginError('PLUGIN_MANIFEST_MISMATCH', `package ${pkg.name} names ${missing.join(', ')} in its plugin manifest (package.json "plumline") but exports no such plugin: a bug in that package`, { fields: { package: pkg.name, missing } });
  }
  return plugins;
}
