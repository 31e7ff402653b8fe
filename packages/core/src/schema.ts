import { z } from 'zod';
import { schemaNode, type AnySchema } from './config/schema-node.js';
import { isDuration, parseDuration } from './util/duration.js';
import { isByteSize, parseByteSize } from './util/size.js';

/** Zod, the version plugin schemas are written with (use this one: schemas from another copy do not mix). */
export { z };

/** Unit words people write, to the unit a duration takes. */
const UNIT_WORDS: Record<string, string> = { millisecond: 'ms', msec: 'ms', second: 's', sec: 's', minute: 'm', min: 'm', hour: 'h', hr: 'h', day: 'd', week: 'w' };

/** Why `text` is not a duration, with the spelling it takes when the unit was written as a word (`30sec`, `1 day` → `30s`, `1d`). */
export function notADuration(text: string): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$/i.exec(text);
  const unit = m && (UNIT_WORDS[m[2]!.toLowerCase()] ?? (['ms', 's', 'm', 'h', 'd', 'w'].includes(m[2]!.toLowerCase()) ? m[2]!.toLowerCase() : undefined));
  return `"${text}" is not a duration: write a number and a unit (ms, s, m, h, d, w)${unit ? `, here ${m[1]}${unit}` : ', e.g. 500ms, 30s, 5m, 2h, 7d'}`;
}

function durationText(description: string) {
  return z
    // A bare number is the usual slip: say which unit to add rather than only "expected string".
    .string({ error: (iss) => (typeof iss.input === 'number' ? `a duration needs a unit: write ${iss.input}s (or ${iss.input}ms, ${iss.input}m)` : undefined) })
    .refine(isDuration, { error: (iss) => notADuration(String(iss.input)), params: { at: 'value' } })
    .describe(description)
    .transform((text) => parseDuration(text));
}

function sizeText(description: string) {
  return z
    .string({ error: (iss) => (typeof iss.input === 'number' ? `a size needs a unit: write ${iss.input}B (or ${iss.input}KiB, ${iss.input}MB)` : undefined) })
    .refine(isByteSize, { message: 'expected a size with a unit, e.g. 64KiB, 100MB, 1GiB', params: { at: 'value' } })
    .describe(description)
    .transform((text) => parseByteSize(text));
}

type DurationSchema = ReturnType<typeof durationText>;
type SizeSchema = ReturnType<typeof sizeText>;

/**
 * A duration written with a unit (`500ms`, `30s`, `5m`, `7d`), parsed to milliseconds.
 * `fallback` is a duration string, shown as is in JSON Schema and docs.
 */
export function duration(description: string): DurationSchema;
export function duration(description: string, fallback: string): z.ZodDefault<DurationSchema>;
export function duration(description: string, fallback?: string): DurationSchema | z.ZodDefault<DurationSchema> {
  const base = durationText(description);
  return fallback === undefined ? base : base.default(parseDuration(fallback)).meta({ default: fallback });
}

/** A size with a unit (`64KiB`, `100MB`), parsed to bytes. */
export function byteSize(description: string): SizeSchema;
export function byteSize(description: string, fallback: string): z.ZodDefault<SizeSchema>;
export function byteSize(description: string, fallback?: string): SizeSchema | z.ZodDefault<SizeSchema> {
  const base = sizeText(description);
  return fallback === undefined ? base : base.default(parseByteSize(fallback)).meta({ default: fallback });
}

const secretSchemas = new WeakSet<AnySchema>();

/** A string that must never be logged (passwords, keys). Its value is redacted from every log line. */
export function secret(description: string) {
  const schema = z.string().min(1).describe(description).meta({ writeOnly: true });
  secretSchemas.add(schema);
  return schema;
}

/** Every string under a field declared with {@link secret} in `value`, validated by `schema`. */
export function collectSecrets(schema: AnySchema, value: unknown, out: string[] = []): string[] {
  if (secretSchemas.has(schema)) {
    if (typeof value === 'string') out.push(value);
    return out;
  }
  const node = schemaNode(schema);
  switch (node.kind) {
    case 'wrapper':
      return collectSecrets(node.inner, value, out);
    case 'object':
      if (value && typeof value === 'object') {
        for (const [k, s] of Object.entries(node.shape)) collectSecrets(s, (value as Record<string, unknown>)[k], out);
      }
      return out;
    case 'array':
      if (Array.isArray(value)) for (const v of value) collectSecrets(node.element, v, out);
      return out;
    case 'record':
      if (value && typeof value === 'object') for (const v of Object.values(value)) collectSecrets(node.values, v, out);
      return out;
    case 'union':
      for (const o of node.options) collectSecrets(o, value, out);
      return out;
    default:
      return out;
  }
}

/** The JSON Schema of a plugin config (input side: what a user writes in YAML). */
export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // zod leaves out the examples of an input that a transform changes; ours are written as input.
      const examples = z.globalRegistry.get(zodSchema)?.examples;
      if (Array.isArray(examples) && jsonSchema.examples === undefined) jsonSchema.examples = examples;
      // zod names some checks as formats JSON Schema does not have (`startsWith` → "starts_with",
      // with a pattern that says the same): a strict validator refuses them.
      if (typeof jsonSchema.format === 'string' && !JSON_SCHEMA_FORMATS.has(jsonSchema.format)) delete jsonSchema.format;
    },
  }) as Record<string, unknown>;
}

/** The formats JSON Schema 2020-12 defines. */
const JSON_SCHEMA_FORMATS = new Set(['date-time', 'date', 'time', 'duration', 'email', 'idn-email', 'hostname', 'idn-hostname', 'ipv4', 'ipv6', 'uri', 'uri-reference', 'iri', 'iri-reference', 'uuid', 'uri-template', 'json-pointer', 'relative-json-pointer', 'regex']);
