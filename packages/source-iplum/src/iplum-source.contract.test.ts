import { afterAll, beforeAll } from 'vitest';
import { sourceContract } from '@plumline/core/testing';
import { IplumEmulator } from './emulator/index.js';
import { iplumSource } from './iplum-source.js';

const KEYS = { access_key: 'AK', secret_key: 'sk-contract', username: 'admin@acme-voice.com' };
const emulator = new IplumEmulator({ seed: 4, recordsPerSecond: 0.02, accessKey: KEYS.access_key, secretKey: KEYS.secret_key, username: KEYS.username });
let base_url = '';
beforeAll(async () => {
  base_url = await emulator.start();
});
afterAll(() => emulator.stop());
const DAY = 86_400_000;
// Twelve days: three 5-day windows, so there is a checkpoint between pages to resume from.
const range = () => ({ start: new Date(Date.now() - 12 * DAY).toISOString(), end: new Date(Date.now() - 60_000).toISOString() });

sourceContract({
  plugin: iplumSource,
  config: () => ({ base_url, ...KEYS, streams: ['usage'], lateness: '0s', ...range() }),
  failingConfig: () => ({ base_url, ...KEYS, secret_key: 'not-the-key', streams: ['usage'], ...range() }),
});
