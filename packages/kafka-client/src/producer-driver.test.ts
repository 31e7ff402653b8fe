import { describe, expect, it } from 'vitest';
import { loadDriverPackage } from './producer-driver.js';

describe('producer drivers', () => {
  it('a driver package that cannot be loaded fails with KAFKA_DRIVER_UNAVAILABLE, permanent, naming the package', () => {
    let caught: unknown;
    try {
      loadDriverPackage('@plumline/no-such-driver');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'KAFKA_DRIVER_UNAVAILABLE', retriable: false, fields: { package: '@plumline/no-such-driver' } });
  });
});
