import { ConfigError, ConfigErrors, createLogger, createPipeline, defineSink, MemoryStateStore, PluginError, z, type CallEvent, type Pipeline } from '@plumline/core';
import { MAX_TAP_LIMIT, readPipelineFile, resolvePipelineFile, SecretRedactor } from '@plumline/core/host';
import { dirname, resolve } from 'node:path';
import { formatError } from './format-error.js';
import { registryForFile } from './plugins-for-pipeline.js';
import type { CliIo } from './main.js';
import { opsBaseUrl, unreachable } from './ops-url.js';

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
 * `plumline tap --url <http://host:port> <component>`: prints a sample of what a component of a
 * running `plumline run --http` emits (its /tap endpoint), without touching that pipeline.
 * `plumline tap <pipeline.yaml> <component>`: runs the file standalone to look at it — state in
 * memory, every sink replaced by a blackhole — so nothing is written and no checkpoint moves.
 */
export async function tapCommand(args: readonly string[], opts: TapOptions & { url?: string | undefined }, io: CliIo): Promise<number> {
  if (opts.url !== undefined) return tapRunning(opts.url, args[0], opts, io);
  return tapStandalone(args[0], args[1], opts, io);
}

/** Prints the header (for a table) now, and returns what prints one event. */
function printer(opts: TapOptions, io: CliIo, redact: (text: string) => string = (t) => t): (e: CallEvent) => void {
  if (opts.format === 'table') io.stdout.write(`${'time'.padEnd(24)} ${'source'.padEnd(6)} ${'kind'.padEnd(10)} ${'from'.padEnd(16)} ${'to'.padEnd(16)} ${'dur'.padEnd(6)} id\n`);
  return (e) => io.stdout.write(redact(opts.format === 'table' ? tableRow(e) : JSON.stringify(e)) + '\n');
}

/** Operators upstream of `ref` holding events now, as a status document tells (why a tap may stay quiet). */
export function heldUpstream(status: { components?: { id: string; type: string; inputs: string[]; stats?: { holding?: Record<string, number> } }[] }, ref: string): string[] {
  const byId = new Map((status.components ?? []).map((c) => [c.id, c]));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const stack = [ref.split('.')[0]!]; stack.length; ) {
    const c = byId.get(stack.pop()!);
    if (!c || seen.has(c.id)) continue;
    seen.add(c.id);
    const held = c.stats?.holding?.events;
    if (held) out.push(`"${c.id}" (${c.type}) holds ${held} events: they leave when matched or when their window closes`);
    stack.push(...c.inputs.map((i) => i.split('.')[0]!));
  }
  return out;
}

async function tapRunning(address: string, component: string | undefined, opts: TapOptions, io: CliIo): Promise<number> {
  const base = opsBaseUrl(address);
  if (!component || !base) {
    io.stderr.write(`error: plumline tap --url <host:port> <component>: --url is the address given to run --http (host:port or http://host:port)${base ? '' : `, not "${address}"`}\n`);
    return 2;
  }
  const url = `${base}/tap/${encodeURIComponent(component)}?limit=${opts.limit || MAX_TAP_LIMIT}&every=${opts.every}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    io.stderr.write(`error: ${unreachable(base, err)}\n`);
    return 1;
  }
  if (!res.ok || !res.body) {
    io.stderr.write(`error: ${base} answered ${res.status}: ${(await res.text()).trim()}\n`);
    return res.status === 404 || res.status === 400 ? 2 : 1;
  }
  // At once, before the first event: events held upstream (correlate) may take a while.
  const status = await fetch(`${base}/status`).then((r) => (r.ok ? (r.json() as Promise<Parameters<typeof heldUpstream>[0]>) : {}), () => ({}));
  const held = heldUpstream(status, component);
  io.stderr.write(`plumline tap: watching "${component}" of ${base}: each event is printed as it leaves it${opts.limit ? `, up to ${opts.limit}` : ''} (Ctrl-C stops).${held.length ? ` Now ${held.join('; ')}.` : ''}\n`);
  const print = printer(opts, io);
  let rest = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    rest += Buffer.from(chunk).toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) print(JSON.parse(line) as CallEvent);
  }
  return 0;
}

/** The pipeline of `file` for looking at: a sink printing `component`'s output, every other sink (and dead letters) into a blackhole. */
function standalonePipeline(raw: Record<string, unknown>, component: string): Record<string, unknown> {
  const sinks = Object.fromEntries(Object.entries((raw.sinks ?? {}) as Record<string, { inputs?: unknown }>).map(([id, s]) => [id, { type: 'blackhole', inputs: s.inputs }]));
  const hasDeadLetterSink = Object.values(sinks).some((s) => (s.inputs as string[] | undefined)?.includes('dead_letter'));
  return {
    ...raw,
    state: undefined,
    // One process previews every tenant: no shares, no group.
    spread: undefined,
    sinks: { ...sinks, [TAP_SINK]: { type: TAP_SINK, inputs: [component] }, ...(hasDeadLetterSink || component === 'dead_letter' ? {} : { [`${TAP_SINK}-dead`]: { type: 'blackhole', inputs: ['dead_letter'] } }) },
  };
}

async function tapStandalone(file: string | undefined, component: string | undefined, opts: TapOptions, io: CliIo): Promise<number> {
  if (!file || !component) {
    io.stderr.write('error: plumline tap needs a pipeline file and a component: plumline tap <pipeline.yaml> <component> (or --url of a running pipeline)\n');
    return 2;
  }
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: 'warn', redactor, destination: io.stderr });
  let pipeline: Pipeline | undefined;
  let printed = 0;
  let seen = 0;
  let stopping = false;
  let print: (e: CallEvent) => void = () => {};
  try {
    const registry = await registryForFile(file);
    const def = await resolvePipelineFile(file, { registry });
    // What a sink could take as an input, as output$ takes: a route by its named outputs.
    const refs = ['dead_letter', ...def.sources.map((s) => s.id), ...def.transforms.flatMap((t) => {
      const named = t.bound.outputs();
      return named.length ? named.map((o) => `${t.id}.${o}`) : [t.id];
    })];
    if (!refs.includes(component)) {
      const named = refs.filter((r) => r.startsWith(`${component}.`));
      throw new PluginError('PLUGIN_TAP_UNKNOWN_COMPONENT', named.length ? `"${component}" has named outputs: tap one of ${named.join(', ')}` : `"${component}" is not a source or transform output of ${file} (known: ${refs.join(', ')})`);
    }
    for (const s of def.secrets) redactor.add(s);
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
              print(e);
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
    const raw = standalonePipeline(await readPipelineFile(file), component);
    pipeline = await createPipeline(raw, { plugins: registry, logger, baseDir: dirname(resolve(file)), file, stateStore: new MemoryStateStore() });
  } catch (err) {
    io.stderr.write(formatError(err) + '\n');
    return err instanceof ConfigErrors || err instanceof ConfigError || err instanceof PluginError ? 2 : 1;
  }
  io.stderr.write(`plumline tap: running ${file} standalone to look at "${component}": state in memory, its sinks replaced by blackholes — nothing is written and no checkpoint moves. To watch a running pipeline instead: plumline tap --url http://<its --http address> ${component}\n`);
  print = printer(opts, io, (t) => redactor.redact(t));
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
