// `pnpm run docs` (plain `pnpm docs` is pnpm's own command, which opens the package's web page): regenerates docs/reference.md from the plugins' config schemas.
import { writeFileSync } from 'node:fs';
import { builtinRegistry, renderReference } from '../packages/cli/dist/index.js';

const file = new URL('../docs/reference.md', import.meta.url);
writeFileSync(file, renderReference(builtinRegistry()));
console.log(`wrote ${file.pathname}`);
