import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { sh } from './test-support/user-shell.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(root, 'node_modules/typescript/bin/tsc');
const EVENTS = 5_000;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
}

/** The bare packages a published file imports (Node's own modules excluded), read by TypeScript's scanner (not fooled by code inside strings). */
function importedPackages(file: string): string[] {
  const specs = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
  return specs.filter((s) => !s.startsWith('.') && !s.startsWith('node:')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

const CONSUMER_TS = `import { createPipeline, corePlugins, defineSource, PluginRegistry, type SourcePage } from '@plumline/core';
import { retryWithBackoff } from '@plumline/core/util';
import { pollRanges } from '@plumline/core/sources';
import { sinkContract } from '@plumline/core/testing';
import { fileSink } from '@plumline/sink-file';
import { enrichOperator } from '@plumline/operators';
import { kafkaSink } from '@plumline/sink-kafka';
import { kafkaSource } from '@plumline/source-kafka';
import { kafkaStatePlugin } from '@plumline/kafka-client';
import { plumSource } from '@plumline/source-plum';
import { iplumSource } from '@plumline/source-iplum';
import { httpSource, defineHttpSource } from '@plumline/source-http';

type Position = { next: number };
export const counter = defineSource({
  type: 'counter',
  description: 'Counts.',
  configSchema: fileSink.configSchema.pick({}),
  create: () => ({
    bounded: true,
    async *read(checkpoint: Position | undefined): AsyncGenerator<SourcePage<Position>> {
      yield { events: [], checkpoint: { next: (checkpoint?.next ?? 0) + 1 } };
    },
  }),
});
const registry = new PluginRegistry([...corePlugins, fileSink, enrichOperator, kafkaSink, kafkaSource, kafkaStatePlugin, plumSource, iplumSource, httpSource, defineHttpSource({ type: 'signed_http', sign: (req) => void (req.headers['x-sig'] = 'ok') }), counter]);
export const run = async (): Promise<number> => {
  const p = await createPipeline({ sources: { c: { type: 'counter' } }, sinks: { out: { type: 'blackhole', inputs: ['c'] } } }, { plugins: registry, once: true });
  await p.start();
  const { stats } = await p.done;
  return stats.c?.eventsOut ?? 0;
};
export const kept = [retryWithBackoff, pollRanges, sinkContract];
`;

const TYPES_ONLY_TS = `import type { Pipeline, SourcePlugin } from '@plumline/core';
import type { PollCheckpoint } from '@plumline/core/sources';
import type { CorrelateConfig } from '@plumline/operators';
export type Check = [Pipeline, SourcePlugin, PollCheckpoint<'calls'>, CorrelateConfig];
`;

/** The host program docs/operations.md shows (`OpsHandler`, the hooks, an OpenTelemetry SDK): the block after `<!-- file: host.ts; run -->`. */
const HOST_TS = /<!-- file: host\.ts; run -->\n```ts\n([\s\S]*?)```/.exec(readFileSync(join(root, 'docs/operations.md'), 'utf8'))![1]!;
/** The OpenTelemetry SDK a host brings itself, at the versions the CLI uses. */
const HOST_OTEL = ['@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus'];

describe('the packages as npm users get them (pnpm pack → npm install into a fresh project)', () => {
  it('install from the tarballs, run a pipeline with the plumline bin, type-check a consumer under strict nodenext and node10 resolution, import only what they declare, and scaffold a plugin against the packed core that builds and passes its tests', { timeout: 420_000 }, async () => {
    const work = await tmpDir('plumline-pack-');
    try {
      // The command the authoring guide gives: the tarballs go to packs/ in the clone.
      sh('npx', ['--yes', 'pnpm@10.34.9', 'run', 'pack:all'], root);
      const packs = join(root, 'packs');
      const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
      expect(tarballs.length).toBe(10);
      for (const t of tarballs) {
        const listing = sh('tar', ['tzf', join(packs, t)], work.dir);
        expect(listing, t).toContain('package/LICENSE');
        expect(listing, t).toContain('package/README.md');
        expect(listing, t).not.toMatch(/\.test\.(js|d\.ts)\b/);
      }

      const app = join(work.dir, 'app');
      await mkdir(app);
      const deps = Object.fromEntries(tarballs.map((t) => [`@plumline/${t.replace(/^plumline-/, '').replace(/-\d+\.\d+\.\d+\.tgz$/, '')}`, `file:${join(packs, t)}`]));
      const cliDeps = (JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
      const rootDev = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
      // The API at core's range (the SDK's peer range decides within it).
      const coreApi = (JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['@opentelemetry/api']!;
      const otel = { ...Object.fromEntries(HOST_OTEL.map((p) => [p, cliDeps[p]!])), '@opentelemetry/api': coreApi, '@types/node': rootDev['@types/node']! };
      await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { ...deps, ...otel } }, null, 2));
      // protobufjs's postinstall is not needed (as in the workspace: ignoredBuiltDependencies).
      sh('npm', ['install', '--ignore-scripts'], app);

      // Every package a published file imports is declared by that package.
      for (const name of Object.keys(deps)) {
        const dir = join(app, 'node_modules', name);
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
        const declared = new Set([name, ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
        const undeclared = filesUnder(join(dir, 'dist'))
          .filter((f) => /\.(js|d\.ts)$/.test(f))
          .flatMap((f) => importedPackages(f).filter((p) => !declared.has(p)).map((p) => `${relative(dir, f)} imports ${p}`));
        expect([...new Set(undeclared)], name).toEqual([]);
      }

      await writeFile(join(app, 'p.yaml'), `sources:\n  gen: { type: generate, count: ${EVENTS}, duplicate_ratio: 0.1 }\ntransforms:\n  u: { type: dedupe, inputs: [gen] }\nsinks:\n  out: { type: file, inputs: [u], path: out.ndjson }\n`);
      sh(join(app, 'node_modules/.bin/plumline'), ['run', 'p.yaml', '--once', '--log-level', 'warn'], app);
      const ids = readFileSync(join(app, 'out.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
      expect(ids.length).toBeGreaterThan(EVENTS * 0.85);
      expect(new Set(ids).size).toBe(ids.length);

      const tsconfig = (module: string, resolution: string, file: string) => JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'es2022', module, moduleResolution: resolution, skipLibCheck: true, types: [] }, files: [file] });
      await writeFile(join(app, 'consumer.ts'), CONSUMER_TS);
      await writeFile(join(app, 'tsconfig.nodenext.json'), tsconfig('nodenext', 'nodenext', 'consumer.ts'));
      sh(process.execPath, [TSC, '-p', 'tsconfig.nodenext.json'], app);
      await writeFile(join(app, 'types-only.ts'), TYPES_ONLY_TS);
      await writeFile(join(app, 'tsconfig.node10.json'), tsconfig('commonjs', 'node10', 'types-only.ts'));
      sh(process.execPath, [TSC, '-p', 'tsconfig.node10.json'], app);

      // A host program built against the tarballs (the one docs/operations.md shows): the ops
      // handler mounted under /ops in its own server, its OpenTelemetry SDK's metrics on
      // /metrics, the committed-checkpoint and dead-letter hooks.
      await mkdir(join(app, 'host'));
      await writeFile(join(app, 'host', 'host.ts'), HOST_TS);
      await writeFile(join(app, 'tsconfig.host.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', outDir: 'host-out', rootDir: 'host', skipLibCheck: true, types: ['node'] }, files: ['host/host.ts'] }));
      sh(process.execPath, [TSC, '-p', 'tsconfig.host.json'], app);
      const hosted = JSON.parse(sh(process.execPath, ['host-out/host.js'], app).trim()) as Record<string, unknown>;
      expect(hosted).toMatchObject({ components: ['calls', 'unique', 'taken', 'out', 'rejects'], deadLettersShown: 20, healthz: 200, ui: 'text/html; charset=utf-8', host: 'host app\n' });
      expect(hosted.commits).toBeGreaterThanOrEqual(2);
      expect(hosted.deadLetters).toBeGreaterThan(20);
      expect(Number(hosted.metric)).toBeGreaterThan(1000);

      // A plugin scaffolded as the guide says, against the packed core (no registry has it): it
      // installs, builds and passes its conformance tests as generated.
      const core = join(packs, tarballs.find((t) => t.startsWith('plumline-core-'))!);
      sh(join(app, 'node_modules/.bin/plumline'), ['new', 'plugin', 'acme-sink', '--kind', 'sink', '--core', core], app);
      const plugin = join(app, 'acme-sink');
      // The tarball is named relative to the plugin, so the package.json can be committed and used from another checkout.
      const devCore = (JSON.parse(readFileSync(join(plugin, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@plumline/core'];
      expect(devCore).toBe(`file:${relative(plugin, core)}`);
      sh('npm', ['install', '--ignore-scripts'], plugin);
      sh('npm', ['run', 'build'], plugin);
      expect(sh('npm', ['test'], plugin)).toMatch(/Tests\s+\d+ passed/);
    } finally {
      await work.cleanup();
    }
  });
});
