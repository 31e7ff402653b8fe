import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The second Node.js line in CI (`pnpm test:node24`): every test but the slow fault suites
 * (SIGKILL loops, the soak, outages, the Kafka broker suites), which run once, on Node 20, in
 * `pnpm test`. CLI tests spawn `process.execPath`, so they run the CLI on this Node too.
 */
export const SLOW_FAULT_SUITES = [
  '**/*.kafka.int.test.ts',
  '**/*-restart.int.test.ts',
  '**/crash-recovery.int.test.ts',
  '**/correlate-crash.int.test.ts',
  '**/file-sink-soak.int.test.ts',
  '**/plum-faults.int.test.ts',
  // Not a fault suite, but slow and the same on both lines: packs and npm-installs every package.
  '**/pack-install.int.test.ts',
];

export default mergeConfig(base, defineConfig({ test: { exclude: ['**/node_modules/**', ...SLOW_FAULT_SUITES], globalSetup: [] } }));
