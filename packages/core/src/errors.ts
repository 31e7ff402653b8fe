/**
 * The brand every {@link PlumlineError} carries, registered in the global symbol registry: a
 * plugin installed with its own copy of @plumline/core makes errors of another class, but with
 * the same brand, so the engine knows them by what they carry (see {@link isPlumlineError}).
 */
export const PLUMLINE_ERROR_BRAND: unique symbol = Symbol.for('plumline.error');

/**
 * One base class for every error plumline raises. Subclasses carry a stable `code`
 * (tests and callers match on it, never on message text), structured `fields`, an
 * optional `cause`, and whether retrying the failed operation may succeed.
 *
 * `instanceof` is structural: `err instanceof PlumlineError` holds for an error made by any copy
 * of core (a plugin's own), and `err instanceof PipelineError` (any subclass) for one whose class
 * chain has a class of that name.
 */
export class PlumlineError extends Error {
  /**
   * On the prototype (an accessor, not an own field), so a copy's error carries it wherever it
   * goes; an accessor rather than a defineProperty after the class, so that importing this module
   * does nothing (package.json says core has no side effects).
   */
  get [PLUMLINE_ERROR_BRAND](): true {
    return true;
  }
  readonly code: string;
  readonly retriable: boolean;
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown; fields?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.fields = options.fields ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retriable: this.retriable, ...this.fields };
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (!isPlumlineError(value)) return false;
    return this === PlumlineError || classNames(value).includes(this.name);
  }
}

/**
 * Whether `err` is a plumline error, made by this copy of core or any other: it carries the
 * registered brand, a string `code` and a boolean `retriable`. Every place that decides what an
 * error means (retry, dead-letter, fail, log) asks this, never `instanceof` one copy's class.
 */
export function isPlumlineError(err: unknown): err is PlumlineError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { [PLUMLINE_ERROR_BRAND]?: unknown; code?: unknown; retriable?: unknown };
  return e[PLUMLINE_ERROR_BRAND] === true && typeof e.code === 'string' && typeof e.retriable === 'boolean';
}

/** The names of the classes in `err`'s prototype chain (bounded: a chain is a handful deep). */
function classNames(err: object): string[] {
  const names: string[] = [];
  for (let p = Object.getPrototypeOf(err) as object | null; p && names.length < 16; p = Object.getPrototypeOf(p) as object | null) {
    const ctor = (p as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string') names.push(ctor.name);
  }
  return names;
}

/** Where in a pipeline file a problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  /** Key path inside the document, e.g. `sinks.out.path`. */
  path: string;
}

/** A pipeline file (or object) that cannot be used. Never retriable. */
export class ConfigError extends PlumlineError {
  readonly location: SourceLocation | undefined;
  constructor(
    code: `CONFIG_${string}`,
    message: string,
    options: { location?: SourceLocation; cause?: unknown; fields?: Record<string, unknown> } = {},
  ) {
    const where = options.location
      ? `${options.location.file}:${options.location.line}:${options.location.column}: ${options.location.path ? `${options.location.path}: ` : ''}`
      : '';
    super(code, `${where}${message}`, { retriable: false, cause: options.cause, fields: { ...options.fields, location: options.location } });
    this.location = options.location;
  }
}

/** Several config problems found in one pass; `errors` holds each located problem. */
export class ConfigErrors extends PlumlineError {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super('CONFIG_INVALID', errors.map((e) => e.message).join('\n'), { retriable: false, fields: { count: errors.length } });
    this.errors = errors;
  }
}

/** A plugin could not be registered or loaded. */
export class PluginError extends PlumlineError {
  constructor(code: `PLUGIN_${string}`, message: string, options: { cause?: unknown; fields?: Record<string, unknown> } = {}) {
    super(code, message, { retriable: false, ...options });
  }
}

/** A failure while moving data: a source read, an operator, a sink write. */
export class PipelineError extends PlumlineError {
  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown; fields?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/** The state store could not read or write. Retriable: disks and brokers recover. */
export class StateError extends PlumlineError {
  constructor(code: `STATE_${string}`, message: string, options: { retriable?: boolean; cause?: unknown; fields?: Record<string, unknown> } = {}) {
    super(code, message, { retriable: options.retriable ?? true, cause: options.cause, fields: options.fields });
  }
}

/**
 * The one rule for every error, wherever it is met:
 * - `transient` (a PlumlineError marked retriable): retried, with backoff, for as long as the
 *   component allows (sources and sinks: without end by default);
 * - `permanent` (any other PlumlineError): never retried; its records are dead-lettered or the
 *   component fails, as its code says;
 * - `bug` (anything that is not a PlumlineError): where a retry loop meets it, retried a few
 *   times (it may be a fault nobody named yet: sources 3 attempts, sinks 5, requests up to
 *   their max_retries), then it fails the pipeline with the error; reported from background work
 *   (`reportError`), where no loop would bound it, it fails the pipeline at once.
 */
export type ErrorKind = 'transient' | 'permanent' | 'bug';

/** Whether `err` is transient (retried), permanent (dead-letter or fail) or a bug (fail at once): one rule for every error, known or not. */
export function errorKind(err: unknown): ErrorKind {
  if (isPlumlineError(err)) return err.retriable ? 'transient' : 'permanent';
  return 'bug';
}

/** True when a retry loop may try again after `err` (transient, or a bug, within the loop's bound): see {@link errorKind}. */
export function isRetriable(err: unknown): boolean {
  return errorKind(err) !== 'permanent';
}
