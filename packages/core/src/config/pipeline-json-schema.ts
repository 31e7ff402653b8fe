import type { z } from 'zod';
import type { AnyPlugin, PluginKind } from '../plugin.js';
import type { PluginRegistry } from '../registry.js';
import { toJsonSchema } from '../schema.js';
import { deadLetterSchema, runtimeSettingsSchema } from './pipeline-schema.js';

function componentSchema(plugin: AnyPlugin, withInputs: boolean): Record<string, unknown> {
  const own = toJsonSchema(plugin.configSchema as z.ZodType) as { properties?: Record<string, unknown>; required?: string[] };
  const properties: Record<string, unknown> = {
    type: { const: plugin.type, description: plugin.description },
    use: { type: 'string', description: 'Module path or package that exports this plugin.' },
    ...(withInputs ? { inputs: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Components (or `name.output`) whose batches this one takes.' } } : {}),
    ...(own.properties ?? {}),
  };
  return {
    type: 'object',
    description: plugin.description,
    properties,
    required: ['type', ...(withInputs ? ['inputs'] : []), ...(own.required ?? [])],
    additionalProperties: false,
  };
}

/** JSON Schema of a whole pipeline file with every registered plugin, for editor completion. */
export function pipelineJsonSchema(registry: PluginRegistry): Record<string, unknown> {
  const of = (kind: PluginKind, withInputs: boolean): Record<string, unknown> => ({
    type: 'object',
    additionalProperties: { oneOf: registry.all().filter((p) => p.kind === kind).map((p) => componentSchema(p, withInputs)) },
  });
  const stateOptions = registry
    .all()
    .filter((p) => p.kind === 'state')
    .map((p) => componentSchema(p, false));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'plumline pipeline',
    type: 'object',
    additionalProperties: false,
    required: ['sources', 'sinks'],
    properties: {
      id: { type: 'string', description: "The pipeline's id, used to name its state. Default: the file's base name." },
      state: { oneOf: stateOptions },
      dead_letter: toJsonSchema(deadLetterSchema),
      runtime: toJsonSchema(runtimeSettingsSchema),
      sources: of('source', false),
      transforms: of('transform', true),
      sinks: of('sink', true),
    },
  };
}
