import { type AnyPlugin, type PluginRegistry } from '@plumline/core';
import { toJsonSchema } from '@plumline/core/host';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  examples?: unknown[];
  description?: string;
  format?: string;
  additionalProperties?: JsonSchema | boolean;
  minimum?: number;
  maximum?: number;
}

const SECTIONS: [AnyPlugin['kind'], string, string][] = [
  ['source', 'Sources', 'sources'],
  ['transform', 'Transforms', 'transforms'],
  ['sink', 'Sinks', 'sinks'],
  ['state', 'State stores', 'state'],
];

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(typeOf))].join(' or ');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties)}`;
  if (s.type === 'integer') {
    // zod's int() bounds itself by the safe integers: only real bounds are worth a mention.
    const min = s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER ? s.minimum : undefined;
    const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
    return min !== undefined || max !== undefined ? `integer (${min ?? '…'}–${max ?? '…'})` : 'integer';
  }
  if (s.format === 'uri') return 'URL';
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * One object of a union's object alternatives (`auth: basic | bearer | …`), so that the keys of
 * every alternative are documented: a key only some alternatives have says which (`type: bearer`),
 * the discriminator lists every value, and a key is required only where every alternative requires it.
 */
function mergeAlternatives(alts: JsonSchema[]): JsonSchema {
  const discriminator = Object.keys(alts[0]!.properties ?? {}).find((k) => alts.every((a) => a.properties?.[k]?.const !== undefined));
  const tagOf = (a: JsonSchema): string => String(a.properties![discriminator!]!.const);
  const properties: Record<string, JsonSchema> = {};
  for (const alt of alts) {
    for (const [key, p] of Object.entries(alt.properties ?? {})) {
      if (properties[key]) continue;
      if (key === discriminator) {
        properties[key] = { ...p, const: undefined, enum: alts.map((a) => a.properties![key]!.const), description: alts.map((a) => `\`${tagOf(a)}\`${a.properties![key]!.description ? `: ${a.properties![key]!.description}` : ''}`).join(' ') };
        continue;
      }
      const holders = alts.filter((a) => a.properties?.[key]);
      const tag = discriminator && holders.length < alts.length ? ` (${discriminator}: ${holders.map(tagOf).join(', ')})` : '';
      properties[key] = { ...p, description: `${p.description ?? ''}${tag}` };
    }
  }
  const required = Object.keys(properties).filter((k) => alts.every((a) => (a.required ?? []).includes(k)));
  return { type: 'object', properties, required, description: alts[0]!.description };
}

/** Rows for every key, nested objects flattened to dotted paths. */
function rows(schema: JsonSchema, prefix: string, out: string[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, s] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    const objectAlts = (s.anyOf ?? s.oneOf)?.filter((a) => a.properties) ?? [];
    const objectAlt = objectAlts.length > 1 ? mergeAlternatives(objectAlts) : objectAlts[0];
    const def = s.default === undefined ? (required.has(key) ? '**required**' : '') : `\`${JSON.stringify(s.default)}\``;
    out.push(`| \`${path}\` | ${cell(typeOf(s))} | ${cell(def)} | ${cell(s.description ?? objectAlt?.description ?? '')} |`);
    if (s.properties) rows(s, path, out);
    else if (objectAlt) rows(objectAlt, path, out);
    else if (s.type === 'array' && s.items?.properties) rows(s.items, `${path}[]`, out);
  }
}

/** A value of the right type for a required key, for the minimal example. */
function exampleValue(key: string, s: JsonSchema): string {
  if (s.examples?.length) return JSON.stringify(s.examples[0]);
  if (s.enum) return JSON.stringify(s.enum[0]);
  if (s.format === 'uri') return 'http://127.0.0.1:8080/';
  if (s.type === 'array') return s.items?.type === 'string' || !s.items?.type ? `[${key === 'brokers' ? '"127.0.0.1:9092"' : `"<${key}>"`}]` : '[]';
  if (s.type === 'integer' || s.type === 'number') return String(s.minimum ?? 1);
  if (s.type === 'boolean') return 'true';
  if (s.type === 'object') return '{}';
  return /password|secret|key$/.test(key) ? `"\${${key.toUpperCase()}}"` : `"<${key}>"`;
}

function example(plugin: AnyPlugin, section: string, schema: JsonSchema): string {
  const required = (schema.required ?? []).filter((k) => schema.properties?.[k]?.default === undefined);
  const lines = [`${section}:`, `  my_${plugin.type}:`, `    type: ${plugin.type}`];
  if (section === 'state') lines.splice(1, 2, `  type: ${plugin.type}`);
  if (plugin.kind === 'transform' || plugin.kind === 'sink') lines.push('    inputs: [upstream]');
  const indent = section === 'state' ? '  ' : '    ';
  for (const k of required) lines.push(`${indent}${k}: ${exampleValue(k, schema.properties![k]!)}`);
  return ['```yaml', ...lines, '```'].join('\n');
}

/**
 * The component reference (docs/reference.md), generated from the plugins' config schemas:
 * every component, every key with its type, default and description, and a minimal example.
 */
export function renderReference(registry: PluginRegistry): string {
  const plugins = registry.all();
  const out = [
    '# Component reference',
    '',
    '<!-- Generated by `pnpm run docs` from the config schemas of the plugins the CLI registers. Do not edit: change the schema’s descriptions and run it again (a test fails when this file is stale). -->',
    '',
    'Every component of a pipeline file, with every key it takes. Unknown keys are refused with the',
    'file, line and key; `${VAR}` and `${VAR:-default}` are read from the environment.',
    '',
  ];
  for (const [kind, title, section] of SECTIONS) {
    const list = plugins.filter((p) => p.kind === kind).sort((a, b) => a.type.localeCompare(b.type));
    if (list.length) out.push(`- ${title}: ${list.map((p) => `[\`${p.type}\`](#${kind}-${p.type.replace(/_/g, '-')})`).join(', ')}`);
  }
  for (const [kind, title, section] of SECTIONS) {
    const list = plugins.filter((p) => p.kind === kind).sort((a, b) => a.type.localeCompare(b.type));
    if (!list.length) continue;
    out.push('', `## ${title}`);
    for (const plugin of list) {
      const schema = toJsonSchema(plugin.configSchema) as JsonSchema;
      const table: string[] = [];
      rows(schema, '', table);
      out.push('', `<a id="${kind}-${plugin.type.replace(/_/g, '-')}"></a>`, `### \`${plugin.type}\``, '', plugin.description, '');
      if (table.length) out.push('| key | type | default | description |', '|---|---|---|---|', ...table, '');
      else out.push('No keys of its own.', '');
      out.push(example(plugin, section, schema));
    }
  }
  return out.join('\n') + '\n';
}
