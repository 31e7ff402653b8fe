#!/usr/bin/env node
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
// `plumline --version` alone answers without loading the engine and every plugin (≈ 0.4 s).
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V' || args[0] === 'version')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`plumline ${version} (Node.js ${process.versions.node})\n`);
} else {
  const { main } = await import('./main.js');
  const { systemClock } = await import('@plumline/core/util');
  const code = await main(args);
  // Let stdout/stderr drain before exiting; a pending timer or socket must not keep us alive.
  process.exitCode = code;
  systemClock.setTimeout(() => process.exit(code), 100);
}
