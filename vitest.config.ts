import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, file = 'index.ts'): string => fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // In-process tests run the TypeScript sources; tests that spawn the CLI use the built dist.
    alias: [
      { find: /^@plumline\/core\/testing$/, replacement: src('core', 'testing/index.ts') },
      { find: /^@plumline\/core$/, replacement: src('core') },
      { find: /^@plumline\/sink-file$/, replacement: src('sink-file') },
      { find: /^@plumline\/source-plum\/emulator$/, replacement: src('source-plum', 'emulator/index.ts') },
      { find: /^@plumline\/source-plum$/, replacement: src('source-plum') },
      { find: /^@plumline\/source-iplum\/emulator$/, replacement: src('source-iplum', 'emulator/index.ts') },
      { find: /^@plumline\/source-iplum$/, replacement: src('source-iplum') },
      { find: /^@plumline\/sink-kafka\/emulator$/, replacement: src('sink-kafka', 'schema-registry/emulator-index.ts') },
      { find: /^@plumline\/sink-kafka$/, replacement: src('sink-kafka') },
      { find: /^@plumline\/operators$/, replacement: src('operators') },
      { find: /^@plumline\/cli$/, replacement: src('cli') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Starts a real Kafka broker (scripts/kafka.sh) for the *.kafka.int.test.ts files, and stops it after.
    globalSetup: ['./scripts/kafka-global-setup.ts'],
  },
});
