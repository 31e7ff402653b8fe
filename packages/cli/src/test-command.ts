import { ConfigError, ConfigErrors } from '@plumline/core';
import { runPipelineTests } from '@plumline/core/host';
import { formatError } from './format-error.js';
import { registryForFile } from './plugins-for-pipeline.js';
import type { CliIo } from './main.js';

/**
 * `plumline test <pipeline.yaml>`: runs the file's `tests:` and prints each result, with a
 * readable account of every failure. Exit 0 when all pass, 1 when one fails, 2 for a config error.
 */
export async function testCommand(file: string | undefined, io: CliIo): Promise<number> {
  if (!file) {
    io.stderr.write('error: plumline test needs a pipeline file\n');
    return 2;
  }
  let results;
  try {
    results = await runPipelineTests(file, { registry: await registryForFile(file) });
  } catch (err) {
    io.stderr.write(formatError(err) + '\n');
    return err instanceof ConfigErrors || err instanceof ConfigError ? 2 : 1;
  }
  if (results.length === 0) {
    io.stdout.write(`${file}: no tests (add a tests: section)\n`);
    return 0;
  }
  let failed = 0;
  for (const r of results) {
    if (r.passed) {
      io.stdout.write(`✓ ${r.name}\n`);
      continue;
    }
    failed++;
    io.stdout.write(`✗ ${r.name}\n`);
    for (const f of r.failures) io.stdout.write(f.split('\n').map((l) => `    ${l}`).join('\n') + '\n');
  }
  io.stdout.write(`\n${results.length - failed} passed, ${failed} failed (${file})\n`);
  return failed ? 1 : 0;
}
