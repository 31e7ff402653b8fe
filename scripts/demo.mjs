// Runs the demo pipeline once from a clean slate and shows where the output went.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
rmSync(join(root, 'out/demo'), { recursive: true, force: true });
rmSync(join(root, '.plumline/demo'), { recursive: true, force: true });

const bin = join(root, 'packages/cli/dist/bin.js');
console.log('$ plumline run examples/demo.yaml --once\n');
const run = spawnSync(process.execPath, [bin, 'run', 'examples/demo.yaml', '--once'], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}
const files = walk(join(root, 'out/demo')).sort();
console.log('\nOutput files:');
let total = 0;
for (const f of files) {
  const lines = f.endsWith('.gz') ? null : readFileSync(f, 'utf8').split('\n').filter(Boolean).length;
  if (lines) total += lines;
  console.log(`  ${relative(root, f).padEnd(58)} ${String(statSync(f).size).padStart(9)} bytes${lines === null ? '' : `  ${lines} events`}`);
}
const first = files.find((f) => f.endsWith('.ndjson'));
console.log(`\n${total} unique events archived (duplicates dropped by dedupe). One of them:\n`);
console.log(JSON.stringify(JSON.parse(readFileSync(first, 'utf8').split('\n')[0]), null, 2));
console.log('\nRun `node packages/cli/dist/bin.js run examples/demo.yaml --once` again: nothing new is written, because the source resumes from its checkpoint in .plumline/demo/state.');
