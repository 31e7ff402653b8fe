#!/usr/bin/env node
// The `plumline` command: a committed entry point (so that installing the workspace can link it
// before anything is built) that runs the built CLI, or says how to build it.
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code of the modules between runs (in the OS temp directory):
// start-up is mostly module loading. Node 20 has no such cache; the call is skipped there.
module.enableCompileCache?.();
try {
  await import('../dist/bin.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/bin.js')) throw err;
  process.stderr.write('plumline is not built yet: run `npx pnpm@10.34.9 run build` (or `pnpm test` / `pnpm demo`, which build first)\n');
  process.exitCode = 1;
}
