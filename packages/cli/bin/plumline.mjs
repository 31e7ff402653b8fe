#!/usr/bin/env node
// The `plumline` command: a committed entry point (so that installing the workspace can link it
// before anything is built) that runs the built CLI, or says how to build it.
try {
  await import('../dist/bin.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/bin.js')) throw err;
  process.stderr.write('plumline is not built yet: run `npx pnpm@10.34.9 run build` (or `pnpm test` / `pnpm demo`, which build first)\n');
  process.exitCode = 1;
}
