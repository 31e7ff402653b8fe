import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { TenantBook } from './tenant-telemetry.js';

describe('TenantBook', () => {
  const book = (accountLabel: boolean) => {
    const b = new TenantBook(metrics.getMeter('test'), { component: 'plum' }, accountLabel, 60);
    b.tenant('fresh').polled(Date.now() - 5_000);
    b.tenant('stale').polled(Date.now() - 7_200_000);
    b.tenant('new');
    return b;
  };
  const lags = (b: TenantBook) => {
    const seen: [string | undefined, number][] = [];
    b.observe((t, attrs) => seen.push([attrs.account as string | undefined, Math.round((Date.now() - t.caughtUpToMs!) / 1000)]), 'lag');
    return seen;
  };

  it('labels the gauges by account, or with account_label: false reports one series per source (the largest lag)', () => {
    expect(lags(book(true)).filter(([, lag]) => !Number.isNaN(lag))).toEqual([['fresh', 5], ['stale', 7200]]);
    expect(lags(book(false))).toEqual([[undefined, 7200]]);
  });

  it('lists the tenants behind and failing by name, with counts, for the views', () => {
    const b = book(true);
    b.tenant('fresh').failed(Object.assign(new Error('refused'), { code: 'PLUM_AUTH_FAILED' }), Date.now() + 300_000);
    const v = b.view();
    expect(v).toMatchObject({ total: 3, failingCount: 1, behindCount: 1 });
    expect(v.failing.map((t) => [t.account, t.state, t.error?.code])).toEqual([['fresh', 'backoff', 'PLUM_AUTH_FAILED']]);
    expect(v.behind.map((t) => [t.account, t.lagSec])).toEqual([['stale', 7200]]);
  });
});
