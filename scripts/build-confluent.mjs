// Builds the native part of @confluentinc/kafka-javascript (the Kafka components' `driver:
// confluent`) where pnpm installed it without running its install script (pnpm-workspace.yaml):
// a prebuilt binary when one downloads, else librdkafka from source, linked against the system's
// OpenSSL and zlib (CKJS_LINKING=dynamic; about 75 s on 2 cores). Does nothing when it loads already.
//
//   node scripts/build-confluent.mjs            build it (or say it is there)
//   node scripts/build-confluent.mjs --if-ci    only when CI is set; otherwise one line saying how
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@confluentinc/kafka-javascript';
const kafkaPackage = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'kafka-client', 'package.json');
const require = createRequire(kafkaPackage);

function loads() {
  try {
    require(PACKAGE);
    return true;
  } catch {
    return false;
  }
}

if (loads()) {
  console.log(`${PACKAGE}: built for Node ${process.versions.node}`);
  process.exit(0);
}
if (process.argv.includes('--if-ci') && !process.env.CI) {
  console.log(`${PACKAGE} is not built, so the driver: confluent tests skip: run \`pnpm run build:confluent\` (a native build, about 75 s) to include them`);
  process.exit(0);
}
const dir = dirname(require.resolve(`${PACKAGE}/package.json`));
const preGyp = createRequire(join(dir, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
console.log(`${PACKAGE}: building the native module (about 75 s)…`);
const started = Date.now();
// node-gyp downloads Node's headers unless told where they are (and nodejs.org may not be
// reachable): beside this node, where the distributions (and Debian's nodejs) put them; for a
// Node from the npm registry (`npx -p node@24`, which comes without them), from the same
// version's node-<platform>-<arch> package there, which has them.
function nodeHeaders() {
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_version.h'))) return prefix;
  const dir = join(dirname(kafkaPackage), '..', '..', '.tmp', `node-headers-${process.version}`);
  const headers = join(dir, 'package');
  if (existsSync(join(headers, 'include', 'node', 'node_version.h'))) return headers;
  mkdirSync(dir, { recursive: true });
  const spec = `node-${process.platform}-${process.arch}@${process.versions.node}`;
  const pack = spawnSync('npm', ['pack', spec, '--silent'], { cwd: dir, encoding: 'utf8' });
  const tarball = pack.stdout.trim().split('\n').pop();
  if (pack.status !== 0 || !tarball) return undefined;
  const untar = spawnSync('tar', ['xzf', tarball, 'package/include'], { cwd: dir, encoding: 'utf8' });
  return untar.status === 0 && existsSync(join(headers, 'include', 'node', 'node_version.h')) ? headers : undefined;
}
const headers = nodeHeaders();
const nodedir = headers ? { npm_config_nodedir: headers } : {};
// JOBS=1: librdkafka's build fails with parallel jobs here.
// Thousands of compiler lines: kept out of the log unless the build fails.
const build = spawnSync(process.execPath, [preGyp, 'install', '--fallback-to-build'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...nodedir, CKJS_LINKING: 'dynamic', JOBS: '1' } });
if (build.status !== 0) {
  process.stderr.write(`${`${build.stdout}\n${build.stderr}`.split('\n').slice(-80).join('\n')}\n`);
  throw new Error(`${PACKAGE}: the native build failed (exit ${build.status}); its last lines are above`);
}
if (!createRequire(kafkaPackage)(PACKAGE)) throw new Error(`${PACKAGE} still does not load`);
console.log(`${PACKAGE}: built in ${Math.round((Date.now() - started) / 1000)} s`);
