import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ESM script of the repository, without type declarations
import { renderErrors } from '../../../scripts/error-catalogue.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/errors.md', () => {
  it('is what the sources raise today (run `pnpm run docs` after adding or changing an error code)', () => {
    const checkedIn = readFileSync(new URL('docs/errors.md', `file://${root}`), 'utf8');
    expect(checkedIn === (renderErrors as (r: string) => string)(root), 'docs/errors.md is stale: run `pnpm run docs` and commit it').toBe(true);
  });

  it('lists codes of every kind: config errors, transient and permanent errors, dead letters, from every package', () => {
    const text = (renderErrors as (r: string) => string)(root);
    const row = (code: string) => text.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    expect(row('CONFIG_UNKNOWN_KEY')).toContain('| config |');
    expect(row('PLUM_HTTP_STATUS')).toContain('| yes |');
    expect(row('STATE_LOCKED')).toContain('| no |');
    expect(row('KAFKA_TOPIC_INVALID')).toContain('dead letter');
    expect(row('IPLUM_SIGNATURE_REJECTED') ?? row('IPLUM_AUTH_FAILED')).toBeDefined();
    expect(row('FILE_ENCODING_FAILED')).toContain('dead letter');
  });
});
