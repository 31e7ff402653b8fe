// `pnpm demo`: starts the Plum and iPlum API emulators, runs examples/demo.yaml over the last two
// days with --once (plum + iplum sources → dedupe → file sink), and shows where the output went.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PlumEmulator } from '../packages/source-plum/dist/emulator/index.js';
import { IplumEmulator } from '../packages/source-iplum/dist/emulator/index.js';

const root = new URL('..', import.meta.url).pathname;
// `--kafka` (pnpm demo:kafka): also write to the Kafka broker that scripts/kafka.sh started.
const kafka = process.argv.includes('--kafka');
// `--again`: keep the output and the state of the last run, so the pipeline resumes from its checkpoint.
const again = process.argv.includes('--again');
const name = kafka ? 'demo-kafka' : 'demo';
// The broker scripts/kafka.sh started: KAFKA_PORT moves it (KAFKA_BROKERS names another).
const kafkaBrokers = process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
const linesIn = (dir) => (existsSync(dir) ? walkFiles(dir).filter((f) => f.endsWith('.ndjson')).reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').filter(Boolean).length, 0) : 0);
function walkFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walkFiles(join(dir, d.name)) : [join(dir, d.name)]));
}
if (!again) {
  rmSync(join(root, 'out', name), { recursive: true, force: true });
  rmSync(join(root, '.plumline', name), { recursive: true, force: true });
}
const before = linesIn(join(root, 'out', name));

// 0.2% of lines are served malformed, to show that bad records reach the dead-letter file.
const emulator = new PlumEmulator({ seed: 7, sessionsPerSecond: 0.05, username: 'demo', password: 'demo-password', faults: { malformedLineRate: 0.002 } });
const url = await emulator.start();
const iplum = new IplumEmulator({ seed: 7, recordsPerSecond: 0.02, accessKey: 'DEMOACCESSKEY', secretKey: 'demo-secret-key', username: 'admin@acme-voice.com' });
const iplumUrl = await iplum.start();
console.log(`Plum emulator listening on ${url}\niPlum emulator listening on ${iplumUrl}\n\n$ plumline run examples/${name}.yaml --once\n`);

const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'run', `examples/${name}.yaml`, '--once'], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      PLUM_URL: url,
      PLUM_USER: 'demo',
      PLUM_PASSWORD: 'demo-password',
      IPLUM_URL: iplumUrl,
      IPLUM_ACCESS_KEY: 'DEMOACCESSKEY',
      IPLUM_SECRET_KEY: 'demo-secret-key',
      IPLUM_USERNAME: 'admin@acme-voice.com',
      // The demo's own key for mask's HMAC; a real deployment sets its own secret.
      PLUMLINE_MASK_KEY: process.env.PLUMLINE_MASK_KEY || 'demo-mask-key-not-for-production',
      KAFKA_BROKERS: kafkaBrokers,
    },
  });
  child.on('exit', resolve);
});
await emulator.stop();
await iplum.stop();
if (code !== 0) process.exit(code ?? 1);

const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
const files = walk(join(root, 'out', name)).sort();
console.log('\nOutput files:');
const count = (f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).length;
for (const f of files) console.log(`  ${relative(root, f).padEnd(56)} ${String(statSync(f).size).padStart(9)} bytes  ${String(count(f)).padStart(6)} lines`);
const sample = (source, kind) => {
  const dir = join(root, 'out', name, source, kind);
  if (!existsSync(dir)) return;
  const f = readdirSync(dir).sort()[0];
  const e = JSON.parse(readFileSync(join(dir, f), 'utf8').split('\n')[0]);
  delete e.raw;
  if (e.attributes?.log) e.attributes.log = e.attributes.log.split('\n')[0] + ' …';
  console.log(`\nA ${source} ${kind} event:\n${JSON.stringify(e, null, 2)}`);
};
sample('plum', 'session');
sample('plum', 'call');
sample('iplum', 'text');
sample('iplum', 'recording');
const deadFile = join(root, 'out', name, 'dead-letters.ndjson');
if (existsSync(deadFile)) {
  const dead = readFileSync(deadFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const codes = [...new Set(dead.map((d) => d.attributes?.code))].join(', ');
  console.log(`\nThe dead-letter warnings above (${dead.length} records) are on purpose: the emulator serves 0.2% of lines malformed, and each bad record goes to ${relative(root, deadFile)} with its reason (${codes}) while the rest is written. The pipeline says it expects them (dead_letter: { expected: true }), so the run ended 0; without that, it would have ended with exit status 3.`);
}
if (again) {
  console.log(`\nThis run resumed from the checkpoint in .plumline/${name}/state: it wrote ${linesIn(join(root, 'out', name)) - before} lines (records that arrived since the last run; what it read again within \`lateness\` was not delivered twice).`);
} else {
  console.log(`\n\`pnpm demo\` starts over each time (it clears out/${name} and .plumline/${name}). To see a pipeline resume from its checkpoint, run \`node scripts/demo.mjs${kafka ? ' --kafka' : ''} --again\`: only records that arrived since are written.`);
}

if (kafka) {
  const { default: kafkajs } = await import('kafkajs');
  const admin = new kafkajs.Kafka({ brokers: [kafkaBrokers], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  console.log('\nKafka topics:');
  for (const topic of (await admin.listTopics()).filter((t) => t.startsWith('demo.')).sort()) {
    const offsets = await admin.fetchTopicOffsets(topic);
    console.log(`  ${topic.padEnd(28)} ${offsets.reduce((n, o) => n + Number(o.high), 0)} records`);
  }
  await admin.disconnect();
}
