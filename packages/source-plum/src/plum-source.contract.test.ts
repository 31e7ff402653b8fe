import { afterAll, beforeAll } from 'vitest';
import { operatorContract, sourceContract } from '@plumline/core/testing';
import { PlumEmulator } from './emulator/index.js';
import { plumSource } from './plum-source.js';
import { plumParseOperator } from './plum-parse-operator.js';

const emulator = new PlumEmulator({ seed: 9, sessionsPerSecond: 0.02, username: 'u', password: 'p' });
let base_url = '';
beforeAll(async () => {
  base_url = await emulator.start();
});
afterAll(() => emulator.stop());
const range = () => ({ start: Math.floor(Date.now() / 1000) - 86_400, end: Math.floor(Date.now() / 1000) - 3_600 });

sourceContract({
  plugin: plumSource,
  // Checkpoints come after each stream's range: sessions, then errors, so there is one to resume from.
  config: () => ({ base_url, username: 'u', password: 'p', streams: ['sessions', 'errors'], page_size: 200, lateness: '0s', ...range() }),
  failingConfig: () => ({ base_url, username: 'u', password: 'wrong', streams: ['sessions'], ...range() }),
});

operatorContract({ plugin: plumParseOperator, config: () => ({}) });
