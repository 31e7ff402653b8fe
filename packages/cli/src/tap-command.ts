import { ConfigError, ConfigErrors, createLogger, createPipeline, defineSink, PluginError, z, type CallEvent, type Pipeline } from '@plumline/core';
import { readPipelineFile, resolvePipelineFile, SecretRedactor } from '@plumline/core/host';
import { dirname, resolve } from 'node:path';
import { formatError } from './format-error.js';
import { builtinRegistry } from './registry.js';
import type { CliIo } from './main.js';

export interface TapOptions {
  /** Events printed before the tap stops the pipeline (0 = until a signal). */
  limit: number;
  /** Print one event in this many. */
  every: number;
  /** Table or NDJSON (default: table on a TTY). */
  format: 'ndjson' | 'table';
}

const TAP_SINK = 'plumline-tap';

function tableRow(e: CallEvent): string {
  const cell = (v: unknown, w: number) => String(v ?? '').slice(0, w).padEnd(w);
  return `${cell(e.time, 24)} ${cell(e.source, 6)} ${cell(e.kind, 10)} ${cell(e.from, 16)} ${cell(e.to, 16)} ${cell(e.durationSec, 6)} ${e.id}`;
}

/**
 * `plumline tap <pipeline.yaml> <component>`: runs the pipeline with one more sink that takes
 * the component's output (fan-out: the other sinks get exactly what they got before) and prints
 * a sample of it.
 */
export async function tapCommand(file: string | undefined, component: string | undefined, opts: TapOptions, io: CliIo): Promise<number> {
  if (!file || !component) {
    io.stderr.write('error: plumline tap needs a pipeline file and a component: plumline tap <pipeline.yaml> <component>\n');
    return 2;
  }
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: 'warn', redactor, destination: io.stderr });
  let pipeline: Pipeline | undefined;
  let printed = 0;
  let seen = 0;
  let stopping = false;
  try {
    const registry = builtinRegistry();
    const def = await resolvePipelineFile(file, { registry });
    const ids = new Set(['dead_letter', ...def.sources.map((s) => s.id), ...def.transforms.map((t) => t.id)]);
    if (!ids.has(component.split('.')[0]!)) throw new PluginError('PLUGIN_TAP_UNKNOWN_COMPONENT', `"${component}" is not a source or transform of ${file} (known: ${[...ids].join(', ')})`);
    for (const s of def.secrets) redactor.add(s);
    const raw = (await readPipelineFile(file)) as { sinks: Record<string, unknown> };
    raw.sinks = { ...raw.sinks, [TAP_SINK]: { type: TAP_SINK, inputs: [component] } };
    registry.register(
      defineSink({
        type: TAP_SINK,
        description: 'Prints a sample of what a component emits (plumline tap).',
        configSchema: z.strictObject({}),
        create: () => ({
          async write(batch) {
            for (const e of batch.events) {
              if (opts.limit && printed >= opts.limit) break;
              if (seen++ % opts.every !== 0) continue;
              printed++;
              io.stdout.write(redactor.redact(opts.format === 'table' ? tableRow(e) : JSON.stringify(e)) + '\n');
            }
            if (opts.limit && printed >= opts.limit && !stopping) {
              stopping = true;
              setImmediate(() => void pipeline?.stop().catch(() => {}));
            }
          },
          async close() {},
        }),
      }),
    );
    pipeline = await createPipeline(raw, { plugins: registry, logger, baseDir: dirname(resolve(file)), file });
  } catch (err) {
    io.stderr.write(formatError(err) + '\n');
    return err instanceof ConfigErrors || err instanceof ConfigError || err instanceof PluginError ? 2 : 1;
  }
  if (opts.format === 'table') io.stdout.write(`${'time'.padEnd(24)} ${'source'.padEnd(6)} ${'kind'.padEnd(10)} ${'from'.padEnd(16)} ${'to'.padEnd(16)} ${'dur'.padEnd(6)} id\n`);
  const running = pipeline;
  const onSignal = () => void running.stop().catch(() => {});
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await running.start();
    await running.done;
    return 0;
  } catch (err) {
    io.stderr.write(redactor.redact(formatError(err)) + '\n');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
