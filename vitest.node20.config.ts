import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The second Node.js line in CI (`pnpm test:node20`, Node 20 while it is still in use): every
 * test but the slow fault suites (SIGKILL loops, the soak, outages, the Kafka broker suites),
 * which run once, on Node 24 LTS, in `pnpm test`. CLI tests spawn `process.execPath`, so they
 * run the CLI on this Node too.
 */
export const SLOW_FAULT_SUITES = [
  '**/*.kafka.int.test.ts',
  '**/*-restart.int.test.ts',
  '**/crash-recovery.int.test.ts',
  '**/correlate-crash.int.test.ts',
  '**/file-sink-soak.int.test.ts',
  '**/plum-faults.int.test.ts',
  // Not fault suites, but slow and the same on both lines: packs and npm-installs every package;
  // drives a browser; installs kubernetes-validate and runs the deployment docs' commands.
  '**/pack-install.int.test.ts',
  '**/web-view.int.test.ts',
  '**/deployment-docs.int.test.ts',
];

export default mergeConfig(base, defineConfig({ test: { exclude: ['**/node_modules/**', ...SLOW_FAULT_SUITES], globalSetup: [] } }));
