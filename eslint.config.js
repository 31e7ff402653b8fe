// Lint with type information: the rules that catch promise mistakes a test rarely sees (a
// floating promise loses its error; a promise passed where a callback's result is ignored).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'examples/embedding/**', '.bench-tmp/**', 'bench/**', 'scripts/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: './tsconfig.tests.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  // Time comes from an injected clock (ctx.clock, PipelineOptions.clock; Clock in
  // packages/core/src/util/clock.ts), so a test can run timed code on a FakeClock and no timer
  // hides in a component. Only the system clock itself, tests and test helpers touch real time.
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/core/src/util/clock.ts', 'packages/core/src/testing/**', 'packages/cli/src/test-support/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'].map((name) => ({ name, message: `${name}: use the injected clock (ctx.clock, or systemClock from @plumline/core/util where no clock is at hand; see docs/design-decisions.md, "Time from an injected clock").` })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Date.now: read the injected clock (ctx.clock.now(), or systemClock.now() where no clock is at hand).' },
        ...['setTimeout', 'setInterval'].map((property) => ({ object: 'globalThis', property, message: `globalThis.${property}: use the injected clock.` })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'new Date() reads the system time: new Date(clock.now()).' },
      ],
      'no-restricted-imports': [
        'error',
        { paths: ['timers', 'node:timers', 'timers/promises', 'node:timers/promises'].map((name) => ({ name, message: 'Node.js timers: use the injected clock.' })) },
      ],
    },
  },
  // The layout holds (docs/design-decisions.md, "Kafka: a source, a sink and the client they
  // share"): a plugin package imports core or the shared @plumline/kafka-client, never a sibling
  // plugin (only the CLI knows them all); and kafkajs loads only through @plumline/kafka-client,
  // which installs its read_committed filter before kafkajs's consumer loads.
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/cli/src/**', 'packages/kafka-client/src/kafkajs-client.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'kafkajs', allowTypeImports: true, message: 'import kafkajs from @plumline/kafka-client (kafkajs-client.ts, or `kafkajs` in /support): it installs the read_committed filter first.' }],
          patterns: [{ group: ['@plumline/sink-*', '@plumline/source-*', '@plumline/operators', '@plumline/cli'], message: 'a plugin package depends on @plumline/core or a shared lower package (@plumline/kafka-client), never on a sibling plugin: only the CLI knows them all.' }],
        },
      ],
    },
  },
);
