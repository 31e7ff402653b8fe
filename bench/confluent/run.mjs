// The evidence for #19's `driver: confluent` question, reproducible: installs
// @confluentinc/kafka-javascript here (building it from source with CKJS_LINKING=dynamic against
// the system's OpenSSL and zlib when no prebuilt binary can be downloaded), starts the benchmark
// broker, and runs bare kafkajs against bare confluent in interleaved rounds, idempotent and
// transactional, then a fencing probe.   node bench/confluent/run.mjs   (after pnpm run build)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { withBenchBroker } from '../kafka-bench.mjs';

const here = new URL('.', import.meta.url).pathname;
const root = join(here, '../..');
const BROKER = '127.0.0.1:29092';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000);

if (!existsSync(join(here, 'node_modules/@confluentinc/kafka-javascript'))) {
  console.log('installing @confluentinc/kafka-javascript (a native build: about 75 s here)…');
  const started = Date.now();
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit', env: { ...process.env, CKJS_LINKING: 'dynamic' } });
  console.log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

function child(script, args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S', process.execPath, script, ...args], { cwd: here, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status}: ${r.stderr}`);
  const [, user, sys] = /TIME ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), cpuMs: (Number(user) + Number(sys)) * 1000 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = await withBenchBroker(root, async () => {
  const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = [];
  for (let r = 0; r < ROUNDS; r++) for (const t of ['kj', 'ck', 'kjt', 'ckt']) topics.push(`confluent-${t}-${r}`);
  await admin.createTopics({ waitForLeaders: true, topics: [...topics, 'confluent-fenced'].map((topic) => ({ topic, numPartitions: 3 })) });
  await admin.disconnect();
  const runs = { kj: [], ck: [], kjt: [], ckt: [] };
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`round ${r + 1} of ${ROUNDS}…`);
    for (const [key, script, mode] of [['kj', '../bare-kafkajs.mjs', []], ['ck', 'bare-confluent.mjs', []], ['kjt', '../bare-kafkajs.mjs', ['transactional']], ['ckt', 'bare-confluent.mjs', ['transactional']]]) {
      runs[key].push(child(join(here, script), [BROKER, `confluent-${key}-${r}`, String(EVENTS), ...mode]));
    }
  }
  const rate = (x) => Math.round(EVENTS / (x.ms / 1000));
  const row = (label, key, against) => {
    const ratios = runs[key].map((x, i) => rate(x) / rate(runs[against][i]));
    const rss = median(runs[key].map((x) => x.maxRssBytes));
    return `| ${label} | ${median(runs[key].map(rate)).toLocaleString('en-US')} | ${(median(runs[key].map((x) => x.cpuMs)) / 1000).toFixed(2)} s | ${Math.round(rss / 2 ** 20)} MB | ${key === against ? '1.00' : `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`} |`;
  };
  const fenced = spawnSync(process.execPath, [join(here, 'fenced.mjs'), BROKER, 'confluent-fenced'], { encoding: 'utf8' });
  return [
    `| ${EVENTS.toLocaleString('en-US')} events, ${ROUNDS} interleaved rounds | events/s (median) | CPU | peak RSS | of kafkajs, same round |`,
    '|---|---:|---:|---:|---|',
    row('bare kafkajs 2.2.4, idempotent', 'kj', 'kj'),
    row('bare @confluentinc/kafka-javascript 1.10.1, idempotent', 'ck', 'kj'),
    row('bare kafkajs, one transaction per batch', 'kjt', 'kjt'),
    row('bare @confluentinc/kafka-javascript, one transaction per batch', 'ckt', 'kjt'),
    '',
    `Fenced producer's commit: \`${fenced.stdout.trim()}\``,
  ];
});
console.log(rows.join('\n'));
