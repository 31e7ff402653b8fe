// `pnpm run docs` (plain `pnpm docs` is pnpm's own command, which opens the package's web page):
// regenerates docs/reference.md from the plugins' config schemas, and docs/errors.md from the sources.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtinRegistry, renderReference } from '../packages/cli/dist/index.js';
import { renderErrors } from './error-catalogue.mjs';

for (const [name, text] of [
  ['reference.md', renderReference(builtinRegistry())],
  ['errors.md', renderErrors(fileURLToPath(new URL('..', import.meta.url)))],
]) {
  const file = new URL(`../docs/${name}`, import.meta.url);
  writeFileSync(file, text);
  console.log(`wrote ${file.pathname}`);
}
