/** A value that survives JSON.stringify/JSON.parse unchanged: what checkpoints and state hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object: what a stored value is when it is a record of keys (not a list, not null). */
export type JsonObject = { [key: string]: JsonValue };

/** True when `v` is a JSON object (not an array, not null). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
