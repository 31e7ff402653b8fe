import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigErrors } from '../errors.js';
import type { CallEvent } from '../event.js';
import { createLogger, type Logger } from '../logger.js';
import { defineSink, type AnyPlugin } from '../plugin.js';
import type { PluginRegistry } from '../registry.js';
import { createPipeline } from '../runtime/pipeline.js';
import { resolvePipeline } from '../runtime/resolve-pipeline.js';
import { MemoryStateStore } from '../state/directory-state-store.js';
import { arraySource } from '../testing/array-source.js';
import { validateConfig } from '../config/validate.js';
import { YamlDocument } from '../config/yaml-document.js';
import { DEAD_LETTER_STREAM, pipelineFileSchema } from '../config/pipeline-schema.js';
import { closestMiss, checkEvent, describeCondition, showValue } from './event-conditions.js';
import type { PipelineTest } from './pipeline-test-schema.js';

/** The outcome of one pipeline test (`plumline test`). */
export interface PipelineTestResult {
  name: string;
  passed: boolean;
  /** Readable explanations of what failed (empty when it passed). */
  failures: string[];
  /** What each `extract_from` emitted. */
  outputs: Record<string, CallEvent[]>;
}

/** Options of {@link runPipelineTests}. */
export interface PipelineTestOptions {
  registry: PluginRegistry;
  env?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
}

/** Test defaults for fields an input event leaves out. */
const DEFAULT_TEST_TIME = '2026-01-01T00:00:00.000Z';

/**
 * Runs the `tests:` of a pipeline file, like Vector's unit tests: for each test, the transforms
 * downstream of its `insert_at` components run on the given events (sources and sinks are not
 * started; state is in memory), and what each `extract_from` emits is checked. The whole file is
 * validated first, so a broken component fails with located config errors.
 */
export async function runPipelineTests(path: string, options: PipelineTestOptions): Promise<PipelineTestResult[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read pipeline file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const env = withPlaceholders(text, options.env ?? process.env);
  const baseDir = dirname(resolve(path));
  // Sources and sinks do not run and each test sets its own environment: what plugins check of
  // the machine (a mask key, TLS files) is for validate and run.
  await resolvePipeline(text, { registry: options.registry, env, file: path, baseDir, preflight: false });
  const doc = YamlDocument.parse(text, path, env);
  const top = validateConfig(pipelineFileSchema, doc.value, doc, []);
  if (!top.ok) throw new ConfigErrors(top.errors);
  const raw = doc.value as { transforms?: Record<string, { inputs: string[] }> };
  const transforms = raw.transforms ?? {};
  checkReferences(top.data.tests, transforms, doc);
  const results: PipelineTestResult[] = [];
  for (const test of top.data.tests) results.push(await runOne(test, transforms, baseDir, options));
  return results;
}

/**
 * Sources and sinks do not run in tests, so their credentials need not be set: a `${VAR}` without
 * a default that is unset reads as `unset-VAR` (variables with a default keep their default).
 */
function withPlaceholders(text: string, env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) if (!out[m[1]!]) out[m[1]!] = `unset-${m[1]}`;
  return out;
}

function checkReferences(tests: PipelineTest[], transforms: Record<string, unknown>, doc: YamlDocument): void {
  const errors: ConfigError[] = [];
  const known = Object.keys(transforms).join(', ') || '(none)';
  tests.forEach((t, i) => {
    t.inputs.forEach((input, j) => {
      if (!(input.insert_at in transforms))
        errors.push(new ConfigError('CONFIG_TEST_UNKNOWN_COMPONENT', `insert_at "${input.insert_at}" is not a transform of this pipeline (transforms: ${known})`, { location: doc.locate(['tests', i, 'inputs', j, 'insert_at']) }));
    });
    t.outputs.forEach((output, j) => {
      const base = output.extract_from.split('.')[0]!;
      if (output.extract_from !== DEAD_LETTER_STREAM && !(base in transforms))
        errors.push(new ConfigError('CONFIG_TEST_UNKNOWN_COMPONENT', `extract_from "${output.extract_from}" is not a transform (or ${DEAD_LETTER_STREAM}) of this pipeline (transforms: ${known})`, { location: doc.locate(['tests', i, 'outputs', j, 'extract_from']) }));
    });
  });
  if (errors.length) throw new ConfigErrors(errors);
}

/** The transforms downstream of the inserted ones, with their inputs cut down to what runs in the test. */
function subGraph(test: PipelineTest, transforms: Record<string, { inputs: string[] }>): Record<string, Record<string, unknown>> {
  const injected = new Map<string, string[]>();
  test.inputs.forEach((input, j) => injected.set(input.insert_at, [...(injected.get(input.insert_at) ?? []), `test-input-${j}`]));
  const kept = new Set(injected.keys());
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, t] of Object.entries(transforms)) {
      if (!kept.has(id) && t.inputs.some((i) => kept.has(i.split('.')[0]!))) {
        kept.add(id);
        grew = true;
      }
    }
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const id of kept) {
    const t = transforms[id]!;
    out[id] = { ...t, inputs: [...(injected.get(id) ?? []), ...t.inputs.filter((i) => kept.has(i.split('.')[0]!))] };
  }
  return out;
}

function withDefaults(e: Record<string, unknown>, test: string, n: number): CallEvent {
  return { id: `${test}#${n}`, source: 'test', kind: 'event', time: DEFAULT_TEST_TIME, attributes: {}, ...e } as CallEvent;
}

async function runOne(test: PipelineTest, transforms: Record<string, { inputs: string[] }>, baseDir: string, options: PipelineTestOptions): Promise<PipelineTestResult> {
  const outputs: Record<string, CallEvent[]> = {};
  const plugins: AnyPlugin[] = [];
  const sources: Record<string, Record<string, unknown>> = {};
  test.inputs.forEach((input, j) => {
    plugins.push(arraySource([input.events.map((e, n) => withDefaults(e, test.name, n))], `test-array-${j}`));
    sources[`test-input-${j}`] = { type: `test-array-${j}` };
  });
  const sinks: Record<string, Record<string, unknown>> = {};
  const captured: CallEvent[][] = [];
  test.outputs.forEach((output, k) => {
    const events: CallEvent[] = [];
    captured.push(events);
    outputs[output.extract_from] = events;
    plugins.push(
      defineSink({
        type: `test-capture-${k}`,
        description: 'Captures what a component emits (pipeline tests).',
        configSchema: z.strictObject({}),
        create: () => ({
          async write(batch) {
            events.push(...batch.events);
          },
          async close() {},
        }),
      }),
    );
    sinks[`test-out-${k}`] = { type: `test-capture-${k}`, inputs: [output.extract_from] };
  });
  const graph = subGraph(test, transforms);
  const failures: string[] = [];
  const unreachable = test.outputs.filter((o) => o.extract_from !== DEAD_LETTER_STREAM && !(o.extract_from.split('.')[0]! in graph));
  for (const o of unreachable) failures.push(`extract_from "${o.extract_from}" is not downstream of any insert_at of this test, so it emits nothing`);
  const saved = new Map(Object.keys(test.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, test.env);
  try {
    if (unreachable.length === 0) {
      const registry = options.registry.clone();
      for (const p of plugins) registry.register(p);
      const p = await createPipeline(
        { id: 'pipeline-test', sources, transforms: graph, sinks },
        { plugins: registry, once: true, stateStore: new MemoryStateStore(), logger: options.logger ?? createLogger({ level: 'silent' }), baseDir },
      );
      await p.start();
      await p.done;
    }
  } catch (err) {
    failures.push(`the pipeline failed: ${(err as Error).message}`);
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  if (failures.length === 0) test.outputs.forEach((output, k) => failures.push(...checkOutput(output, captured[k]!)));
  return { name: test.name, passed: failures.length === 0, failures, outputs };
}

function checkOutput(output: PipelineTest['outputs'][number], events: CallEvent[]): string[] {
  const failures: string[] = [];
  const from = output.extract_from;
  if (output.count !== undefined && events.length !== output.count) failures.push(`${from}: expected ${output.count} event${output.count === 1 ? '' : 's'}, got ${events.length}${events.length ? ` (ids: ${events.slice(0, 5).map((e) => e.id).join(', ')}${events.length > 5 ? ', …' : ''})` : ''}`);
  for (const condition of output.conditions) {
    if (events.some((e) => checkEvent(condition, e).every((c) => c.ok))) continue;
    const lines = [`${from}: no event has`, ...describeCondition(condition).map((l) => `    ${l}`)];
    const best = closestMiss(condition, events);
    if (!best) lines.push('  (it emitted no events)');
    else {
      lines.push(`  closest of ${events.length} (id ${best.event.id}):`);
      for (const m of best.misses) lines.push(`    ${m.path}: expected ${m.op === 'matches' ? `to match /${String(m.expected)}/` : `${m.op === 'contains' ? 'to contain ' : ''}${showValue(m.expected)}`}, got ${showValue(m.actual)}`);
    }
    failures.push(lines.join('\n'));
  }
  for (const condition of output.absent) {
    const hit = events.find((e) => checkEvent(condition, e).every((c) => c.ok));
    if (hit) failures.push([`${from}: expected no event with`, ...describeCondition(condition).map((l) => `    ${l}`), `  but ${hit.id} has it`].join('\n'));
  }
  return failures;
}
