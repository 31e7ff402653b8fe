import { describe, expect, it } from 'vitest';
import { httpConfigSchema } from './http-source-config.js';
import { compileMapping } from './record-mapping.js';

/** The mapping as a pipeline gets it: through the config schema, defaults and all. */
const mappingOf = (map: Record<string, unknown>) => {
  const c = httpConfigSchema(false).parse({ url: 'https://api.example.com/calls?from={{from}}', backfill: '1h', map });
  return compileMapping(c.map, c.include_raw);
};

describe('http source: records mapped to events', () => {
  it("a direction other than inbound/outbound is left out of `direction` and kept under attributes, as the reference says", () => {
    const map = mappingOf({ id: { copy: 'id' }, time: { copy: 't' }, direction: { copy: 'dir' } });
    const t = '2026-12-01T10:00:00Z';
    expect(map({ id: 'a', t, dir: 'Inbound' })).toMatchObject({ event: { direction: 'inbound' } });
    const other = map({ id: 'b', t, dir: 'IN' });
    expect(other).toMatchObject({ event: { attributes: { direction: 'IN' } } });
    expect((other as { event: { direction?: string } }).event.direction).toBeUndefined();
  });
});
