import { describe, expect, it } from 'vitest';
import { componentRows, formatLag, renderTenants } from './top-command.js';

describe('plumline top: checkpoint lag', () => {
  it('reads as people read a duration, in at most two units (28775255.2 s is 333 days, not seconds)', () => {
    expect([0, 4.24, 60, 187, 3599, 3600, 7_500, 86_399, 86_400, 28_775_255.2].map(formatLag)).toEqual(['0.0s', '4.2s', '1m00s', '3m07s', '59m59s', '1h00m', '2h05m', '23h59m', '1d0h', '333d1h']);
  });
});

describe('plumline top: backlog', () => {
  it('sums a source\'s backlog over its partitions, and shows none for components that report none', () => {
    const sample = (name: string, value: number, labels: Record<string, string>) => ({ name, value, labels: { component_kind: 'source', component_type: 'kafka', ...labels } });
    const rows = componentRows(
      [
        sample('plumline_source_backlog_records', 120, { component: 'raw', partition: 'calls/0' }),
        sample('plumline_source_backlog_records', 30, { component: 'raw', partition: 'calls/1' }),
        sample('plumline_component_events_in_total', 5, { component: 'gen', component_type: 'generate' }),
      ],
      undefined,
      0,
    );
    expect(rows.map((r) => [r.id, r.backlog])).toEqual([
      ['gen', undefined],
      ['raw', 150],
    ]);
  });

  it('lists a source\'s failing and furthest-behind accounts by name, with what failed them and when they are tried again', () => {
    const text = renderTenants([{ id: 'plum', tenants: { total: 1000, failingCount: 2, failing: [{ account: 'acme', state: 'backoff', error: { code: 'PLUM_AUTH_FAILED', message: 'refused' }, nextAttemptMs: 240_000 }, { account: 'globex', state: 'failed', error: { code: 'PLUM_HTTP_STATUS', message: '503' } }], behindCount: 21, behind: [{ account: 'initech', lagSec: 7_200 }] } }], 0);
    expect(text).toContain('plum: 1000 accounts, 2 failing, 21 behind');
    expect(text).toContain('failing  acme  PLUM_AUTH_FAILED  retry in 4m00s');
    expect(text).toContain('failing  globex  PLUM_HTTP_STATUS  given up');
    expect(text).toContain('behind   initech  2h00m');
    expect(text).toContain('… 20 more behind');
    expect(renderTenants([])).toBe('');
  });
});
