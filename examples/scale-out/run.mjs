// `pnpm demo:scale-out`: the scale-out reference deployment on this machine (README.md here).
// A Kafka broker (scripts/kafka.sh), an emulator per Plum and iPlum tenant, two ingest workers
// sharing the tenants (spread:, pollers → calls.raw exactly-once; worker 1 killed with SIGKILL
// after its first commit, its shares resumed by the other), one callback receiver (pushed callbacks → calls.raw, 2xx once Kafka has them) and
// three processing workers in one group (a task per partition → dedupe → enrich → mask →
// calls.curated, exactly-once). Worker 1 is killed with SIGKILL once it committed something, and
// started again. Once calls.curated has every id of calls.raw (Apache's own consumer,
// read_committed, counts both topics) the workers are stopped with SIGTERM, and the archive
// worker writes calls.curated into files (one per source and day), which are counted too.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { PlumEmulator } from '../../packages/source-plum/dist/emulator/index.js';
import { IplumEmulator } from '../../packages/source-iplum/dist/emulator/index.js';

const root = new URL('../..', import.meta.url).pathname;
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const CALLBACK_SECRET = 'scale-out-demo-secret';
const CALLBACK_LISTEN = '127.0.0.1:8090';
const TOPICS = ['calls.raw', 'calls.curated', 'plumline-state-scale-out', 'plumline-tenants-scale-out-ingest'];
const WORKERS = 3;
const INGEST_WORKERS = 2;
/** The ingest workers are stopped once calls.raw has not grown for this long (more than their session_timeout, 6 s, so a dead worker's shares have moved). */
const INGEST_QUIET_MS = 10_000;
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
    // SCALE_OUT_LOGS=dir keeps every worker's whole log there (one file per label).
    if (process.env.SCALE_OUT_LOGS) appendFileSync(join(process.env.SCALE_OUT_LOGS, `${o.label.replace(/\s+/g, '-')}.log`), text);
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

/** Resolves once calls.raw's committed count has been the same for INGEST_QUIET_MS (the pollers caught up), with that count. */
async function rawQuiet() {
  let last = -1;
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const n = readCommitted('calls.raw').length;
    if (n !== last || n === 0) [last, since] = [n, Date.now()];
    else if (Date.now() - since >= INGEST_QUIET_MS) return n;
  }
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

// A Plum emulator per Plum tenant of tenants-plum.yaml, an iPlum one per iPlum tenant: their own data, their own logins.
const PLUM_TENANTS = ['GLOBEX', 'INITECH', 'HOOLI'];
const plum = new PlumEmulator({ seed: 7, sessionsPerSecond: 0.05, username: 'demo', password: 'demo-password' });
const plums = PLUM_TENANTS.map((t, i) => new PlumEmulator({ seed: 20 + i, sessionsPerSecond: 0.003, username: t.toLowerCase(), password: `${t.toLowerCase()}-password` }));
const iplum = new IplumEmulator({ seed: 7, recordsPerSecond: 0.02, accessKey: 'DEMOACCESSKEY', secretKey: 'demo-secret-key', username: 'admin@acme-voice.com' });
const iplumGlobex = new IplumEmulator({ seed: 30, recordsPerSecond: 0.005, accessKey: 'GLOBEXACCESSKEY', secretKey: 'globex-secret-key', username: 'admin@globex.example' });
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
  IPLUM_URL_GLOBEX: await iplumGlobex.start(),
  IPLUM_ACCESS_KEY_GLOBEX: 'GLOBEXACCESSKEY',
  IPLUM_SECRET_KEY_GLOBEX: 'globex-secret-key',
  IPLUM_USERNAME_GLOBEX: 'admin@globex.example',
  CALLBACK_SECRET,
  CALLBACK_LISTEN,
  PLUMLINE_MASK_KEY: process.env.PLUMLINE_MASK_KEY || 'demo-mask-key-not-for-production',
};
for (const [i, t] of PLUM_TENANTS.entries()) Object.assign(credentials, { [`PLUM_URL_${t}`]: await plums[i].start(), [`PLUM_USER_${t}`]: t.toLowerCase(), [`PLUM_PASSWORD_${t}`]: `${t.toLowerCase()}-password` });

say(`stage 1: the receiver takes pushed callbacks while ${INGEST_WORKERS} ingest workers share the tenants (spread:) and poll two days of Plum and iPlum into calls.raw; ingest worker 1 is killed once mid-run and not started again`);
const receiver = run('receiver.yaml', credentials, { label: 'receiver' });
await new Promise((r) => setTimeout(r, 1500));
await pusher.start();
const ingest = Array.from({ length: INGEST_WORKERS }, (_, w) => run('ingest.yaml', credentials, { label: `ingest ${w}`, killAfterFirstCommitMs: w === 1 ? 150 : undefined }));
// The pusher's callbacks keep calls.raw growing: it stops after a while, so that the topic goes quiet once the pollers caught up.
await new Promise((r) => setTimeout(r, 8000));
await pusher.stop();
const rawCount = await rawQuiet();
for (const w of ingest) w.child.kill('SIGTERM');
const ingestCodes = await Promise.all(ingest.map((w) => w.exited));
if (ingestCodes.some((c, i) => c !== 0 && !(i === 1 && c === 'SIGKILL'))) throw new Error(`an ingest worker failed: exit codes ${ingestCodes.join(', ')}`);
console.log(`  ingest: ${rawCount} records in calls.raw; worker 1 ${ingestCodes[1] === 'SIGKILL' ? 'was killed (SIGKILL) after its first commit: its shares of tenants resumed on worker 0 from their checkpoints' : 'committed nothing before the pollers caught up: it was not killed'}`);
await new Promise((r) => setTimeout(r, 2000));
receiver.child.kill('SIGTERM');
await receiver.exited;
for (const e of [plum, ...plums, iplum, iplumGlobex]) await e.stop();
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
