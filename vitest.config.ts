import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The Kafka tests start real brokers from Maven Central's jars, so they need a JDK 17+ and Maven.
 * Without them they are skipped with one line saying so, except in CI, where they are required.
 */
const KAFKA_TESTS = '**/*.kafka.int.test.ts';
const kafkaToolsFound = ['java', 'mvn'].every((cmd) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).status === 0);
if (!kafkaToolsFound && process.env.CI) throw new Error('the Kafka tests need a JDK 17+ and Maven (java and mvn on PATH), and CI runs them: install both');
if (!kafkaToolsFound) {
  process.env.PLUMLINE_SKIP_KAFKA_TESTS = '1';
  console.warn(`plumline: skipping the Kafka tests (${KAFKA_TESTS}): they need a JDK 17+ and Maven (java and mvn on PATH); install both to run them, as CI does`);
}

const src = (pkg: string, file = 'index.ts'): string => fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // In-process tests run the TypeScript sources; tests that spawn the CLI use the built dist.
    alias: [
      { find: /^@plumline\/core\/testing$/, replacement: src('core', 'testing/index.ts') },
      { find: /^@plumline\/core\/emulator$/, replacement: src('core', 'emulator/index.ts') },
      { find: /^@plumline\/core\/util$/, replacement: src('core', 'util/index.ts') },
      { find: /^@plumline\/core\/sources$/, replacement: src('core', 'sources/index.ts') },
      { find: /^@plumline\/core\/host$/, replacement: src('core', 'host.ts') },
      { find: /^@plumline\/core\/builtins$/, replacement: src('core', 'builtins.ts') },
      { find: /^@plumline\/core$/, replacement: src('core') },
      { find: /^@plumline\/sink-file$/, replacement: src('sink-file') },
      { find: /^@plumline\/source-plum\/emulator$/, replacement: src('source-plum', 'emulator/index.ts') },
      { find: /^@plumline\/source-plum$/, replacement: src('source-plum') },
      { find: /^@plumline\/source-iplum\/emulator$/, replacement: src('source-iplum', 'emulator/index.ts') },
      { find: /^@plumline\/source-iplum$/, replacement: src('source-iplum') },
      { find: /^@plumline\/source-http$/, replacement: src('source-http') },
      { find: /^@plumline\/kafka-client\/emulator$/, replacement: src('kafka-client', 'schema-registry/emulator-index.ts') },
      { find: /^@plumline\/kafka-client\/support$/, replacement: src('kafka-client', 'support.ts') },
      { find: /^@plumline\/kafka-client\/testing$/, replacement: src('kafka-client', 'testing.ts') },
      { find: /^@plumline\/kafka-client$/, replacement: src('kafka-client') },
      { find: /^@plumline\/sink-kafka$/, replacement: src('sink-kafka') },
      { find: /^@plumline\/source-kafka$/, replacement: src('source-kafka') },
      { find: /^@plumline\/operators$/, replacement: src('operators') },
      { find: /^@plumline\/cli$/, replacement: src('cli') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    exclude: kafkaToolsFound ? configDefaults.exclude : [...configDefaults.exclude, KAFKA_TESTS],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Builds dist/ (the tests that spawn the CLI run it), before every rerun in watch mode too;
    // chooses and prints the fault schedules' seed; starts a real Kafka broker (scripts/kafka.sh)
    // for the *.kafka.int.test.ts files, and stops it after.
    globalSetup: ['./scripts/build-before-tests.ts', './scripts/test-seed.ts', './scripts/kafka-global-setup.ts'],
    setupFiles: ['./scripts/vitest-setup.ts'],
  },
});
