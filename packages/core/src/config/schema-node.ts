import type { z } from 'zod';

/** A schema, as any copy of zod 4 makes them (classic or mini): what {@link schemaNode} walks. */
export type AnySchema = z.core.$ZodType;

/**
 * One level of a zod schema's structure, as plumline walks it to find secret fields, the keys an
 * object takes ("did you mean" hints) and the schema of one key (included files). The input
 * side: a pipe is walked through what it takes in, not what it makes.
 */
export type SchemaNode =
  /** optional, nullable, default, prefault, readonly, catch, nonoptional, pipe: the schema they wrap. */
  | { readonly kind: 'wrapper'; readonly inner: AnySchema }
  | { readonly kind: 'object'; readonly shape: Readonly<Record<string, AnySchema>> }
  | { readonly kind: 'array'; readonly element: AnySchema }
  | { readonly kind: 'record'; readonly values: AnySchema }
  | { readonly kind: 'union'; readonly options: readonly AnySchema[] }
  /** A leaf (string, number, enum…) or a structure plumline does not walk into. */
  | { readonly kind: 'other' };

/**
 * The structure of `schema` one level down. The one place that reads zod's `_zod.def`, which is
 * what zod itself walks (its JSON Schema generator) and, unlike `instanceof ZodObject`, the same
 * in every copy of zod 4 a plugin may bring.
 */
export function schemaNode(schema: AnySchema): SchemaNode {
  // Every schema zod makes is one of `$ZodTypes`; the union is what lets `def.type` narrow the
  // definition to its own fields. A schema of a kind zod does not list falls to `other`.
  const def = (schema as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return { kind: 'wrapper', inner: def.innerType };
    case 'pipe':
      return { kind: 'wrapper', inner: def.in };
    case 'object':
      return { kind: 'object', shape: def.shape };
    case 'array':
      return { kind: 'array', element: def.element };
    case 'record':
      return { kind: 'record', values: def.valueType };
    case 'union':
      return { kind: 'union', options: def.options };
    default:
      return { kind: 'other' };
  }
}

/** `schema` without the wrappers around it (defaults, optionals, pipes): the first level that is not one. */
export function unwrapped(schema: AnySchema): Exclude<SchemaNode, { kind: 'wrapper' }> {
  for (let node = schemaNode(schema); ; node = schemaNode(node.inner)) if (node.kind !== 'wrapper') return node;
}
