// `pnpm demo`: starts the Plum API emulator, runs examples/plum-demo.yaml over the last two days
// with --once (Plum source → dedupe → file sink), and shows where the output went.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PlumEmulator } from '../packages/source-plum/dist/emulator/index.js';

const root = new URL('..', import.meta.url).pathname;
rmSync(join(root, 'out/plum-demo'), { recursive: true, force: true });
rmSync(join(root, '.plumline/plum-demo'), { recursive: true, force: true });

// 0.2% of lines are served malformed, to show that bad records reach the dead-letter file.
const emulator = new PlumEmulator({ seed: 7, sessionsPerSecond: 0.05, username: 'demo', password: 'demo-password', faults: { malformedLineRate: 0.002 } });
const url = await emulator.start();
console.log(`Plum emulator listening on ${url}\n\n$ plumline run examples/plum-demo.yaml --once\n`);

const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', 'examples/plum-demo.yaml', '--once'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PLUM_URL: url, PLUM_USER: 'demo', PLUM_PASSWORD: 'demo-password' },
  });
  child.on('exit', resolve);
});
await emulator.stop();
if (code !== 0) process.exit(code ?? 1);

const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
const files = walk(join(root, 'out/plum-demo')).sort();
console.log('\nOutput files:');
const count = (f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).length;
for (const f of files) console.log(`  ${relative(root, f).padEnd(52)} ${String(statSync(f).size).padStart(9)} bytes  ${String(count(f)).padStart(6)} lines`);
const sample = (kind) => {
  const dir = join(root, 'out/plum-demo', kind);
  if (!existsSync(dir)) return;
  const f = readdirSync(dir).sort()[0];
  const e = JSON.parse(readFileSync(join(dir, f), 'utf8').split('\n')[0]);
  delete e.raw;
  if (e.attributes?.log) e.attributes.log = e.attributes.log.split('\n')[0] + ' …';
  console.log(`\nA ${kind} event:\n${JSON.stringify(e, null, 2)}`);
};
sample('session');
sample('call');
console.log('\nRun the pipeline again and only records that arrived since are written: the source resumes from its checkpoint in .plumline/plum-demo/state, and dedupe drops the 5-minute overlap it re-reads.');
