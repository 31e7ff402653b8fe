import { dirname } from 'node:path';
import type { PluginRegistry } from '@plumline/core';
import { loadPluginModule, pipelineJsonSchema, readPipelineFile } from '@plumline/core/host';

const SECTIONS = ['sources', 'transforms', 'sinks'] as const;

/** The `use:` module specifiers a pipeline object names, in its components and its state. */
function usedModules(pipeline: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const add = (c: unknown) => {
    const use = (c as { use?: unknown } | null)?.use;
    if (typeof use === 'string') out.add(use);
  };
  for (const section of SECTIONS) for (const c of Object.values((pipeline[section] as Record<string, unknown> | undefined) ?? {})) add(c);
  add(pipeline.state);
  return [...out];
}

/**
 * The JSON Schema of pipeline files (`plumline schema [pipeline.yaml]`): every built-in plugin,
 * and with a file, the plugins its `use:` modules export too, so an editor checks their keys.
 * The file itself need not be valid; an unreadable file or module is an error.
 */
export async function pipelineSchemaFor(registry: PluginRegistry, file: string | undefined): Promise<Record<string, unknown>> {
  if (file !== undefined) {
    // Only the use: values matter here: a variable the shell has not set reads as empty.
    const pipeline = await readPipelineFile(file, new Proxy({}, { get: (_t, name) => (typeof name === 'string' ? (process.env[name] ?? '') : undefined) }));
    for (const use of usedModules(pipeline)) {
      // As a run resolves it: a type the registry already has keeps its plugin.
      for (const plugin of await loadPluginModule(use, dirname(file))) if (!registry.get(plugin.kind, plugin.type)) registry.register(plugin);
    }
  }
  return pipelineJsonSchema(registry);
}
