/** A value that survives JSON.stringify/JSON.parse unchanged: what checkpoints and state hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
