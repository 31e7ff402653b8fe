// `pnpm demo:scale-out`: the scale-out reference deployment on this machine (README.md here).
// A Kafka broker (scripts/kafka.sh), the Plum and iPlum emulators, one ingest worker (pollers →
// calls.raw), one callback receiver (pushed callbacks → calls.raw, 2xx once Kafka has them) and
// three processing workers in one group (a task per partition → dedupe → enrich → mask →
// calls.curated, exactly-once). Worker 1 is killed with SIGKILL once it committed something, and
// started again. Once calls.curated has every id of calls.raw (Apache's own consumer,
// read_committed, counts both topics) the workers are stopped with SIGTERM, and the archive
// worker writes calls.curated into files (one per source and day), which are counted too.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { PlumEmulator } from '../../packages/source-plum/dist/emulator/index.js';
import { IplumEmulator } from '../../packages/source-iplum/dist/emulator/index.js';

const root = new URL('../..', import.meta.url).pathname;
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const CALLBACK_SECRET = 'scale-out-demo-secret';
const CALLBACK_LISTEN = '127.0.0.1:8090';
const TOPICS = ['calls.raw', 'calls.curated', 'plumline-state-scale-out'];
const WORKERS = 3;
/** How long stage 2 may take to put every id into calls.curated. */
const CATCH_UP_DEADLINE_MS = 240_000;

const say = (line) => console.log(`\n▸ ${line}`);

/** Starts `plumline run file` with `env`; resolves its exit code. `killAfterFirstCommitMs` kills it once, that long after its first commit. */
function run(file, env, o = {}) {
  const args = [join(root, 'packages/cli/dist/bin.js'), 'run', join(root, 'examples/scale-out', file), '--log-level', 'info', ...(o.once ? ['--once'] : [])];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let killed = false;
  child.stderr.on('data', (d) => {
    const text = d.toString();
    // Errors only: kafkajs warns while a fresh broker elects its coordinators, which is routine.
    for (const line of text.split('\n')) if (/"level":(50|60)/.test(line)) process.stderr.write(`  [${o.label}] ${line.slice(0, 300)}\n`);
    if (o.killAfterFirstCommitMs !== undefined && !killed && text.includes('first checkpoint committed')) {
      killed = true;
      setTimeout(() => child.kill('SIGKILL'), o.killAfterFirstCommitMs);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return { child, exited };
}

/** Every record of `topic`, read by Apache's own Java consumer with read_committed (scripts/kafka/ReadCommitted.java). */
function readCommitted(topic) {
  const out = execFileSync('java', ['-cp', join(root, '.kafka/4.3.1/lib/*'), join(root, 'scripts/kafka/ReadCommitted.java'), BROKERS, topic], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l.split('\t').slice(4).join('\t')));
}

/** Lines and ids of every file the archive stage wrote (read as plain files, not by plumline). */
function archivedIds() {
  const ids = new Set();
  let lines = 0;
  const dir = join(root, '.plumline/scale-out/archive');
  for (const f of readdirSync(dir, { recursive: true })) {
    const path = join(dir, String(f));
    if (!path.endsWith('.ndjson')) continue;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      lines++;
      ids.add(JSON.parse(line).id);
    }
  }
  return { lines, ids };
}

say('starting a Kafka broker (scripts/kafka.sh up)');
execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'up'], { stdio: 'inherit' });
const admin = new kafkajs.Kafka({ brokers: [BROKERS], logLevel: kafkajs.logLevel.NOTHING }).admin();
await admin.connect();
const existing = new Set(await admin.listTopics());
const stale = TOPICS.filter((t) => existing.has(t));
if (stale.length) await admin.deleteTopics({ topics: stale });
await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'calls.raw', numPartitions: 6 }] });
rmSync(join(root, '.plumline/scale-out'), { recursive: true, force: true });

const plum = new PlumEmulator({ seed: 7, sessionsPerSecond: 0.05, username: 'demo', password: 'demo-password' });
const iplum = new IplumEmulator({ seed: 7, recordsPerSecond: 0.02, accessKey: 'DEMOACCESSKEY', secretKey: 'demo-secret-key', username: 'admin@acme-voice.com' });
// A second iPlum, busier, pushing callbacks for its new records to the receiver, as iPlum does.
const pusher = new IplumEmulator({ seed: 8, recordsPerSecond: 40, accessKey: 'PUSH', secretKey: 'push-secret', username: 'admin@acme-voice.com', callbackUrl: `http://${CALLBACK_LISTEN}/iplum/callbacks`, callbackHeaders: { 'x-plumline-secret': CALLBACK_SECRET }, callbackIntervalMs: 100 });
const credentials = {
  KAFKA_BROKERS: BROKERS,
  PLUM_URL: await plum.start(),
  PLUM_USER: 'demo',
  PLUM_PASSWORD: 'demo-password',
  IPLUM_URL: await iplum.start(),
  IPLUM_ACCESS_KEY: 'DEMOACCESSKEY',
  IPLUM_SECRET_KEY: 'demo-secret-key',
  IPLUM_USERNAME: 'admin@acme-voice.com',
  CALLBACK_SECRET,
  CALLBACK_LISTEN,
  PLUMLINE_MASK_KEY: process.env.PLUMLINE_MASK_KEY || 'demo-mask-key-not-for-production',
};

say('stage 1: the receiver takes pushed callbacks while the ingest worker polls two days of Plum and iPlum into calls.raw');
const receiver = run('receiver.yaml', credentials, { label: 'receiver' });
await new Promise((r) => setTimeout(r, 1500));
await pusher.start();
const ingest = run('ingest.yaml', credentials, { label: 'ingest', once: true });
if ((await ingest.exited) !== 0) throw new Error('the ingest worker failed (its warnings are above)');
await new Promise((r) => setTimeout(r, 2000));
await pusher.stop();
receiver.child.kill('SIGTERM');
await receiver.exited;
await plum.stop();
await iplum.stop();
console.log(`  receiver: ${pusher.stats.callbacksSent} callbacks pushed, ${pusher.stats.callbacksFailed} refused or unanswered (iPlum sends those again)`);

say('stage 2: three processing workers in one group, a task per partition, exactly-once into calls.curated; worker 1 is killed once mid-run and started again');
const raw = readCommitted('calls.raw');
const rawIds = new Set(raw.map((e) => e.id));
const workers = Array.from({ length: WORKERS }, (_, w) => run('process.yaml', credentials, { label: `worker ${w}`, killAfterFirstCommitMs: w === 1 ? 150 : undefined }));
let killed = false;
let stopping = false;
// Not awaited: worker 1 dies only if it committed something before the others caught up.
const restarted = workers[1].exited.then((code) => {
  if (code !== 'SIGKILL') return;
  killed = true;
  if (stopping) return;
  console.log('  worker 1 was killed (SIGKILL) after its first commit; starting it again. Its partitions move to the others after the session timeout, then some come back; each resumes from its checkpoint in the state topic');
  workers[1] = run('process.yaml', credentials, { label: 'worker 1' });
});
let curatedIds = new Set();
for (const until = Date.now() + CATCH_UP_DEADLINE_MS; curatedIds.size < rawIds.size && Date.now() < until; await new Promise((r) => setTimeout(r, 3000))) {
  curatedIds = new Set(readCommitted('calls.curated').map((e) => e.id));
}
stopping = true;
if (!killed) console.log('  worker 1 committed nothing before calls.curated caught up: it was not killed');
console.log(`  calls.curated caught up (${curatedIds.size} of ${rawIds.size} ids); stopping the workers (SIGTERM: each drains and commits its tasks)`);
for (const w of workers) w.child.kill('SIGTERM');
const codes = await Promise.all(workers.map((w) => w.exited));
await restarted;
// Worker 1 may have died by our SIGKILL just as the others caught up (then it is not started again).
if (codes.some((c, i) => c !== 0 && !(i === 1 && c === 'SIGKILL'))) throw new Error(`a processing worker failed: exit codes ${codes.join(', ')}`);

say('stage 3: the archive worker writes calls.curated into files, one per source and day, to the topic\'s end');
const archive = run('archive.yaml', { ...credentials, STOP_AT_END: 'true' }, { label: 'archive', once: true });
if ((await archive.exited) !== 0) throw new Error('the archive worker failed (its errors are above)');
const archived = archivedIds();

say('counting with Apache Kafka\'s own consumer (read_committed)');
const curated = readCommitted('calls.curated');
curatedIds = new Set(curated.map((e) => e.id));
const missing = [...rawIds].filter((id) => !curatedIds.has(id)).length;
console.log(`  calls.raw:     ${raw.length} records, ${rawIds.size} distinct ids (${raw.length - rawIds.size} repeats, which dedupe removes)`);
console.log(`  calls.curated: ${curated.length} records, ${curatedIds.size} distinct ids, ${curated.length - curatedIds.size} twice, ${missing} missing`);
console.log(`  archive files: ${archived.lines} lines, ${archived.ids.size} distinct ids, ${[...curatedIds].filter((id) => !archived.ids.has(id)).length} of calls.curated missing`);
const archiveExact = archived.lines === curated.length && archived.ids.size === curatedIds.size && [...curatedIds].every((id) => archived.ids.has(id));
const exact = curated.length === curatedIds.size && missing === 0 && archiveExact;
console.log(exact ? '\nEvery id exactly once in calls.curated and in the archive files.' : '\nNOT exactly once: see the counts above.');
await admin.disconnect();
console.log('The broker keeps running: `npx pnpm@10.34.9 kafka down` stops it.');
process.exit(exact ? 0 : 1);
