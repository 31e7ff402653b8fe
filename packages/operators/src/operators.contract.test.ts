import { afterAll, beforeAll } from 'vitest';
import { operatorContract } from '@plumline/core/testing';
import { enrichOperator } from './enrich/enrich-operator.js';
import { correlateOperator } from './correlate/correlate-operator.js';
import { maskOperator } from './mask/mask-operator.js';

let saved: string | undefined;
beforeAll(() => {
  saved = process.env.PLUMLINE_MASK_KEY;
  process.env.PLUMLINE_MASK_KEY = 'contract-test-key-0123456789';
});
afterAll(() => {
  if (saved === undefined) delete process.env.PLUMLINE_MASK_KEY;
  else process.env.PLUMLINE_MASK_KEY = saved;
});

operatorContract({ plugin: enrichOperator, config: () => ({ local_time: { zone: 'America/New_York', business_hours: {} } }) });
operatorContract({
  plugin: correlateOperator,
  config: () => ({ window: '1m', rules: [{ name: 'channel_errors', anchor: { kind: 'session' }, partner: { kind: 'error' }, anchor_key: 'attributes.channel', partner_key: 'attributes.channel', as: 'errors' }] }),
});
operatorContract({ plugin: maskOperator, config: () => ({ numbers: 'hash', fields: { 'attributes.index': { truncate: 2 } } }) });
