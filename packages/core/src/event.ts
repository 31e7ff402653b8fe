/**
 * The normalized event every source emits. Field names are stable API: a change to their
 * meaning bumps {@link EVENT_SCHEMA_VERSION}. A type, not an interface: an event is a plain
 * object of fields, which code that reads fields by name (field paths, `map`, `mask`) sees as a
 * `Record<string, unknown>` without a cast (an interface has no index signature).
 */
export type CallEvent = {
  // A field whose value is `undefined` is absent: JSON leaves it out and every predicate and
  // path reads it as missing. Operators remove fields by setting them to undefined, not with
  // `delete`, which turns a V8 object into a slow dictionary (≈ 2 µs per event, and
  // JSON.stringify 1.7× slower on it).
  /** Stable and unique across polls, e.g. `plum:session:300024;026;1509673023`. */
  id: string;
  /** `plum`, `iplum`, or a custom source's name. */
  source: string;
  /** call | call_log | session | error | text | fax | recording | dead_letter | … */
  kind: string;
  /** ISO-8601 UTC: when it happened (its start). */
  time: string;
  endTime?: string;
  direction?: 'inbound' | 'outbound';
  /** As the source gave them; `enrich` adds E.164 forms. */
  from?: string;
  to?: string;
  durationSec?: number;
  /** Source-specific fields, parsed. */
  attributes: Record<string, unknown>;
  /** The record as received (a line or an object), unless the source was told to drop it. */
  raw?: unknown;
};

/** The version of the CallEvent shape; sinks write it with each event (e.g. the Kafka `schema_version` header). */
export const EVENT_SCHEMA_VERSION = 1;

/**
 * A record that could not be processed. It travels on the pipeline's `dead_letter` stream
 * (as a `kind: dead_letter` event) with the reason, never silently dropped.
 */
export interface DeadLetter {
  /** Stable error code, e.g. `PARSE_FAILED`. */
  code: string;
  /** Human-readable reason. Must not contain secrets. */
  reason: string;
  /** What failed: the raw line, object or event. */
  record: unknown;
  /** Extra context (request path, window, …). */
  context?: Record<string, unknown>;
}
