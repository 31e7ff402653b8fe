import { describe, expect, it } from 'vitest';
import { errorKind, isPlumlineError, PipelineError, PlumlineError, StateError } from './errors.js';
import { serializeError } from './logger.js';

/** What another copy of @plumline/core (a plugin's own install) makes: other classes, the same registered brand. */
function foreignCopy() {
  class PlumlineError extends Error {
    constructor(
      readonly code: string,
      message: string,
      readonly retriable = false,
      readonly fields: Record<string, unknown> = {},
    ) {
      super(message);
      this.name = new.target.name;
    }
    toJSON() {
      return { name: this.name, code: this.code, message: this.message, retriable: this.retriable, ...this.fields };
    }
  }
  Object.defineProperty(PlumlineError.prototype, Symbol.for('plumline.error'), { value: true });
  class PipelineError extends PlumlineError {}
  return { PlumlineError, PipelineError };
}

describe('errors are recognised by what they carry, not by which copy of core made them', () => {
  const other = foreignCopy();

  it('an error of another copy is a plumline error with its kind: retriable is transient, else permanent', () => {
    expect(isPlumlineError(new other.PipelineError('ACME_WRITE_FAILED', 'x', true))).toBe(true);
    expect(errorKind(new other.PipelineError('ACME_WRITE_FAILED', 'x', true))).toBe('transient');
    expect(errorKind(new other.PipelineError('ACME_BAD', 'x', false))).toBe('permanent');
    expect(errorKind(new PipelineError('OWN', 'x', { retriable: true }))).toBe('transient');
  });

  it('instanceof is structural: the base for any branded error, a subclass by the class names in the chain', () => {
    const e = new other.PipelineError('ACME_WRITE_FAILED', 'x', true);
    expect(e instanceof PlumlineError).toBe(true);
    expect(e instanceof PipelineError).toBe(true);
    expect(e instanceof StateError).toBe(false);
    expect(new StateError('STATE_X', 'x') instanceof PipelineError).toBe(false);
  });

  it('an error without the brand is not one, whatever fields it has (a bug stays a bug)', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'ECONNRESET', retriable: true });
    expect(isPlumlineError(lookalike)).toBe(false);
    expect(errorKind(lookalike)).toBe('bug');
    expect(lookalike instanceof PlumlineError).toBe(false);
    expect(isPlumlineError(null)).toBe(false);
  });

  it('a log line keeps the foreign error\'s code and fields, without a stack', () => {
    const line = serializeError(new other.PipelineError('ACME_WRITE_FAILED', 'cannot write', true, { path: 'out' })) as Record<string, unknown>;
    expect(line).toMatchObject({ code: 'ACME_WRITE_FAILED', retriable: true, path: 'out' });
    expect(line.stack).toBeUndefined();
  });
});
