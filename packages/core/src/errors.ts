/**
 * One base class for every error plumline raises. Subclasses carry a stable `code`
 * (tests and callers match on it, never on message text), structured `fields`, an
 * optional `cause`, and whether retrying the failed operation may succeed.
 */
export class PlumlineError extends Error {
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
  if (err instanceof PlumlineError) return err.retriable ? 'transient' : 'permanent';
  return 'bug';
}

/** True when a retry loop may try again after `err` (transient, or a bug, within the loop's bound): see {@link errorKind}. */
export function isRetriable(err: unknown): boolean {
  return errorKind(err) !== 'permanent';
}
