import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from './registry.js';
import { renderReference } from './reference-docs.js';

describe('docs/reference.md', () => {
  it('is what the plugins’ schemas generate today (run `pnpm run docs` after changing a schema)', () => {
    const checkedIn = readFileSync(new URL('../../../docs/reference.md', import.meta.url), 'utf8');
    expect(checkedIn === renderReference(builtinRegistry()), 'docs/reference.md is stale: run `pnpm run docs` and commit it').toBe(true);
  });

  it('lists every component and every key of each', () => {
    const text = renderReference(builtinRegistry());
    for (const p of builtinRegistry().all()) expect(text).toContain(`### \`${p.type}\``);
    for (const key of ['schema_registry.url', 'exactly_once', 'local_time.business_hours.days', 'rules[].within_span', 'max_in_flight']) expect(text).toContain(`\`${key}\``);
  });
});
