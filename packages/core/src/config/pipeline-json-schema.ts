import type { z } from 'zod';
import type { AnyPlugin, PluginKind } from '../plugin.js';
import type { PluginRegistry } from '../registry.js';
import { toJsonSchema } from '../schema.js';
import { pipelineTestSchema } from '../pipeline-tests/pipeline-test-schema.js';
import { deadLetterSchema, runtimeSettingsSchema, spreadSchema } from './pipeline-schema.js';

const USE = { type: 'string', description: 'Module path or package that exports this plugin.' };
const INPUTS = { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Components (or `name.output`) whose batches this one takes.' };

/** The schema of one component of `plugin`'s type: its own keys plus `type`, `use` and (but for sources and state) `inputs`. */
function componentSchema(plugin: AnyPlugin, withInputs: boolean): Record<string, unknown> {
  const own = toJsonSchema(plugin.configSchema as z.ZodType) as { properties?: Record<string, unknown>; required?: string[] };
  return {
    description: plugin.description,
    properties: { type: { const: plugin.type, description: plugin.description }, use: USE, ...(withInputs ? { inputs: INPUTS } : {}), ...(own.properties ?? {}) },
    required: ['type', ...(withInputs ? ['inputs'] : []), ...(own.required ?? [])],
    additionalProperties: false,
  };
}

/**
 * A component of one of `plugins`, chosen by its `type` (if/then, so an editor and a validator
 * report the keys of that type, not of every type). A component with `use:` loads a plugin this
 * registry may not know: its type is then free and only `type`, `use` and `inputs` are checked.
 */
function componentOf(plugins: readonly AnyPlugin[], withInputs: boolean): Record<string, unknown> {
  return {
    type: 'object',
    required: ['type', ...(withInputs ? ['inputs'] : [])],
    properties: { type: { type: 'string', description: 'The plugin type.' }, use: USE, ...(withInputs ? { inputs: INPUTS } : {}) },
    if: { not: { required: ['use'] } },
    then: { properties: { type: { enum: plugins.map((p) => p.type) } } },
    allOf: plugins.map((p) => ({ if: { properties: { type: { const: p.type } }, required: ['type'] }, then: componentSchema(p, withInputs) })),
  };
}

/** A top-level section's schema as a subschema: the draft is stated once, at the root. */
function section(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _draft, ...rest } = toJsonSchema(schema);
  return rest;
}

/** What `${VAR}` or `${VAR:-default}` looks like before the pipeline is loaded. */
const VARIABLE = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}', description: 'An environment variable, read when the pipeline loads.' };
const SCALAR_CONSTRAINTS = ['type', 'enum', 'const', 'format', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength'];

/**
 * `schema` where any constrained scalar may also be written as an environment variable, as a
 * pipeline file may (`count: ${EVENTS:-1000}`): the file is checked as written, before
 * interpolation. Conditions (`if`) are left alone: they choose a component's keys by its type.
 */
function allowVariables(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowVariables);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'if' || k === 'const' || k === 'enum' || k === 'default' || k === 'examples' ? v : allowVariables(v);
  const types = ([] as unknown[]).concat(out.type ?? []);
  const scalar = types.length > 0 && types.every((t) => t === 'string' || t === 'integer' || t === 'number' || t === 'boolean');
  if (!scalar || !SCALAR_CONSTRAINTS.some((k) => k !== 'type' && k in out) && types.every((t) => t === 'string')) return out;
  const constraint: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) (SCALAR_CONSTRAINTS.includes(k) ? constraint : rest)[k] = v;
  return { ...rest, anyOf: [constraint, VARIABLE] };
}

/** JSON Schema of a whole pipeline file with every registered plugin, for editor completion and validation. */
export function pipelineJsonSchema(registry: PluginRegistry): Record<string, unknown> {
  return allowVariables(pipelineSchemaAsWritten(registry)) as Record<string, unknown>;
}

function pipelineSchemaAsWritten(registry: PluginRegistry): Record<string, unknown> {
  const plugins = (kind: PluginKind) => registry.all().filter((p) => p.kind === kind);
  const components = (kind: PluginKind, withInputs: boolean) => ({ type: 'object', additionalProperties: componentOf(plugins(kind), withInputs) });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'plumline pipeline',
    type: 'object',
    additionalProperties: false,
    required: ['sources', 'sinks'],
    properties: {
      id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: "The pipeline's id, used to name its state. Default: the file's base name." },
      state: componentOf(plugins('state'), false),
      dead_letter: section(deadLetterSchema),
      runtime: section(runtimeSettingsSchema),
      spread: section(spreadSchema),
      sources: components('source', false),
      transforms: components('transform', true),
      sinks: components('sink', true),
      tests: { type: 'array', items: section(pipelineTestSchema), description: 'Unit tests of the transforms, run by `plumline test` (never by `run`).' },
    },
  };
}
