import { describe, expect, it } from 'vitest';
import { isPlumlineError, PipelineError } from '@plumline/core';
import { VendorApiError } from '@plumline/core/sources';
import { HttpSourceError } from '@plumline/source-http';
import { IplumApiError } from '@plumline/source-iplum';
import { PlumApiError } from '@plumline/source-plum';

// One error shape for the three HTTP sources (issue #28, item 5): whoever handles a source's
// failure reads the status, the request and Retry-After the same way, whichever vendor it was.
describe('the vendor sources raise errors of one shape', () => {
  const made = [
    new PlumApiError('PLUM_HTTP_STATUS', 'Plum answered 503 to /ws/calls/logs', { retriable: true, status: 503, path: '/ws/calls/logs', retryAfterMs: 2_000 }),
    new IplumApiError('IPLUM_HTTP_STATUS', 'iPlum answered 503 to /usage/getusage', { retriable: true, status: 503, path: '/ws/calls/logs', retryAfterMs: 2_000, errorCode: 'ERR_SERVER' }),
    new HttpSourceError('HTTP_SOURCE_STATUS', 'answered 503', { retriable: true, status: 503, path: '/ws/calls/logs', retryAfterMs: 2_000 }),
  ];

  it.each(made.map((e) => [e.name, e] as const))('%s is a VendorApiError with status, path and retryAfterMs', (_name, err) => {
    expect(err).toBeInstanceOf(VendorApiError);
    expect(err).toBeInstanceOf(PipelineError);
    expect(isPlumlineError(err)).toBe(true);
    const e = err as VendorApiError;
    expect([e.status, e.path, e.retryAfterMs, e.retriable]).toEqual([503, '/ws/calls/logs', 2_000, true]);
    expect(e.toJSON()).toMatchObject({ code: err.code, retriable: true, status: 503, path: '/ws/calls/logs', retryAfterMs: 2_000 });
  });

  it("keeps iPlum's own error code as a field", () => {
    expect(made[1]!.fields).toMatchObject({ errorCode: 'ERR_SERVER', status: 503 });
  });
});
