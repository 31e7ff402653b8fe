import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as coreMain from '@plumline/core';
import * as coreBuiltins from '@plumline/core/builtins';
import { exportedPlugins } from '@plumline/core/host';
import { builtinRegistry } from './registry.js';
import { packageOfType, pluginPackages, registryFor } from './plugins-for-pipeline.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const key = (p: { kind: string; type: string }): string => `${p.kind}:${p.type}`;

interface WorkspacePackage {
  dir: string;
  name: string;
  plumline?: { plugins: { kind: string; type: string }[] };
  sideEffects?: boolean | string[];
}

/** Every package of the workspace (packages/*, examples/*), as its package.json says. */
const WORKSPACE: WorkspacePackage[] = ['packages', 'examples'].flatMap((group) =>
  readdirSync(join(ROOT, group))
    .map((d) => join(ROOT, group, d))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, ...(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Omit<WorkspacePackage, 'dir'>) })),
);
/** The libraries besides core and the CLI (an example that is an application, with no entry to import, is not one). */
const PLUGIN_PACKAGES = WORKSPACE.filter((p) => !['@plumline/core', '@plumline/cli'].includes(p.name) && existsSync(join(p.dir, 'src', 'index.ts')));

/** What a package's main entry exports: from its TypeScript sources, as the rest of the tests import it. */
async function mainEntry(pkg: WorkspacePackage): Promise<Record<string, unknown>> {
  if (pkg.name.startsWith('@plumline/')) return (await import(pkg.name)) as Record<string, unknown>;
  return (await import(join(pkg.dir, 'src', 'index.ts'))) as Record<string, unknown>;
}

describe('plugin manifests (package.json "plumline") against the packages and the CLI', () => {
  it('every package that exports plugins names exactly those in its manifest, and one that exports none has none', async () => {
    expect(PLUGIN_PACKAGES.map((p) => p.name)).toContain('plumline-sink-webhook');
    expect(WORKSPACE.filter((p) => p.plumline && !PLUGIN_PACKAGES.includes(p)).map((p) => p.name)).toEqual([]);
    for (const pkg of PLUGIN_PACKAGES) {
      const exported = exportedPlugins(await mainEntry(pkg)).map(key).sort();
      expect(pkg.plumline?.plugins.map(key).sort() ?? [], `${relative(ROOT, pkg.dir)}/package.json "plumline"`).toEqual(exported);
    }
  });

  it("core's plugins are corePlugins, loaded with the engine (core carries no manifest)", () => {
    const exported = new Set([...exportedPlugins(coreMain), ...exportedPlugins(coreBuiltins)]);
    expect([...exported].map(key).sort()).toEqual(coreMain.corePlugins.map(key).sort());
    expect(WORKSPACE.find((p) => p.name === '@plumline/core')?.plumline).toBeUndefined();
  });

  it('the CLI ships every plugin package of packages/, finds their types in the manifests, and its registry holds core\'s and theirs', () => {
    const shipped = pluginPackages().map((p) => p.name).sort();
    expect(shipped).toEqual(PLUGIN_PACKAGES.filter((p) => p.dir.startsWith(join(ROOT, 'packages')) && p.plumline).map((p) => p.name).sort());
    const claimed = pluginPackages().flatMap((p) => p.manifest.plugins.map(key));
    // No type is claimed by two packages, nor by a package and core.
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.filter((k) => coreMain.corePlugins.some((p) => key(p) === k))).toEqual([]);
    expect([...packageOfType().keys()].sort()).toEqual([...claimed].sort());
    expect(builtinRegistry().all().map(key).sort()).toEqual([...coreMain.corePlugins.map(key), ...claimed].sort());
  });

  it('every type a manifest names loads with its own package only', async () => {
    const holders = packageOfType();
    for (const [type, pkg] of holders) {
      const registry = await registryFor([type]);
      const [kind, name] = type.split(':') as [Parameters<typeof registry.get>[0], string];
      expect(registry.get(kind, name), type).toBeDefined();
      const loaded = registry.all().map(key).filter((k) => holders.has(k));
      expect(loaded.sort(), type).toEqual(pkg.manifest.plugins.map(key).sort());
    }
  });
});

/** Modules under `src` (not tests) with a statement at their top level that does something when the module is imported. */
function modulesWithSideEffects(pkgDir: string): string[] {
  const found: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.includes('.test.') && !path.includes(`${join('src', 'test-support')}`)) {
        const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
        if (source.statements.some((s) => ts.isExpressionStatement(s) && !ts.isStringLiteral(s.expression))) found.push(`./${relative(pkgDir, path).replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')}`);
      }
    }
  };
  visit(join(pkgDir, 'src'));
  return found.sort();
}

describe('"sideEffects" in package.json (what a bundler may leave out)', () => {
  it('names exactly the modules that do something when imported, in every package that declares it', () => {
    const declaring = WORKSPACE.filter((p) => p.sideEffects !== undefined);
    expect(declaring.map((p) => p.name)).toContain('@plumline/kafka-client');
    for (const pkg of declaring) {
      const declared = pkg.sideEffects === false ? [] : pkg.sideEffects === true ? modulesWithSideEffects(pkg.dir) : [...pkg.sideEffects!].sort();
      expect(declared, `${relative(ROOT, pkg.dir)}/package.json "sideEffects"`).toEqual(modulesWithSideEffects(pkg.dir));
    }
  });
});
