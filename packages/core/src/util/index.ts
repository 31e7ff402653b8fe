/** `@plumline/core/util`: building blocks for plugins — durations and sizes, backoff and retry, durable files, templates, conditions and field paths. */
export { parseDuration, formatDuration, isDuration } from './duration.js';
export { parseByteSize } from './size.js';
export { systemClock, type Clock, type Timer, type TimerOptions } from './clock.js';
export { backoffDelayMs, sleep, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export { createFileAtomic, writeFileAtomic, fsyncDir } from './fs-durable.js';
export { unreadableFileProblem } from './unreadable-file.js';
export { writeAll, type VectorWriter } from './write-all.js';
export { isoFromMs, msFromIso } from './fast-iso.js';
export { mapConcurrent } from './map-concurrent.js';
export { retryWithBackoff, parseRetryAfter, MAX_RETRY_AFTER_MS, type RetryOptions } from './retry.js';
export { closeServerNow } from './close-server.js';
export { createPermits } from './permits.js';
export { processAlive } from './process-alive.js';
export { isTimeZone } from './is-time-zone.js';
export { wallClock, zonedToEpochMs } from './zoned-time.js';
export { compileCondition, conditionSchema, type Condition, type Predicate } from '../expr/predicate.js';
export { compileTemplate, compileStrictTemplate, templateFields, templateProblems, templateParts, TEMPLATE_ISSUE } from '../expr/template.js';
export { eventShapeProblem } from '../event-shape.js';
export { compileGetter, isFieldPath, isFieldRecord, setPathCopying, type FieldRecord, type Getter } from '../expr/field-path.js';
/** For state stores: values as entries, written as they change; the STATE_CORRUPT error. */
export { toEntries, fromEntries, diffEntries, ENTRY_DEPTH, type Entries, type EntryDiff } from '../state/state-entries.js';
export { stateCorrupt } from '../state/state-corrupt.js';
