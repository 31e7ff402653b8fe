import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, ConfigErrors, createLogger, loadPipeline, type LevelWithSilent, type Logger, type PipelineResult } from '@plumline/core';
import { deadLetterSummary, readPipelineFile, resolvePipelineFile, SecretRedactor } from '@plumline/core/host';
import { parseDuration } from '@plumline/core/util';

import type { Observability } from './observability.js';
import type { OpsServer } from './ops-server.js';
import { otlpWanted } from './otlp-wanted.js';
import { ProgressView } from './progress-view.js';
import { newPluginCommand } from './new-plugin-command.js';
import { IPLUM_DEFAULTS, PLUM_DEFAULTS } from './emulator-defaults.js';
import { tapCommand } from './tap-command.js';
import { topCommand } from './top-command.js';
import { testCommand } from './test-command.js';
import { formatError } from './format-error.js';
import { registryFor, registryForFile } from './plugins-for-pipeline.js';
import { pipelineSchemaFor } from './schema-command.js';

/** Exit code: done, or valid. */
export const EXIT_OK = 0;
/** Exit code: the pipeline (or a test) failed. */
export const EXIT_FAILED = 1;
/** Exit code: a config or usage error, located on stderr. */
export const EXIT_INVALID = 2;
/**
 * Exit code: the run ended by itself (`--once`, or sources that end) and flushed everything, but
 * more records were dead-lettered than the pipeline's `dead_letter` section expects
 * (`expected: true`, `max_ratio`). A run stopped by a signal ends 0 whatever it dead-lettered.
 */
export const EXIT_DEAD_LETTERS = 3;
/**
 * Exit code: the run ended by itself and flushed everything, but some accounts of a source of
 * many accounts could not be read (refused credentials, an error that persisted): every other
 * account was read to its end; stderr names the failed ones. Takes precedence over 3.
 */
export const EXIT_TENANTS_FAILED = 4;
/** Exit code: stopped at once by a second signal. */
export const EXIT_SIGNAL = 130;
/** Events `plumline tap` prints by default before it stops. */
export const DEFAULT_TAP_LIMIT = 20;

/** `plumline emulate <which> --help`: each emulator's own help. */
const EMULATE_HELP: Record<string, { usage: string; example: string }> = {
  plum: {
    usage: `  plumline emulate plum [--port 8081] [--host 127.0.0.1] [--seed 1] [--rate <sessions/s>] [--list-after-end]
      Serve an emulator of Plum's Call Log API until SIGINT/SIGTERM. Basic auth user and
      password from PLUM_USER / PLUM_PASSWORD, default ${PLUM_DEFAULTS.user} / ${PLUM_DEFAULTS.password}.
      --list-after-end: list a call only once it ended, as a service may (see lateness).`,
    example: 'plumline emulate plum --port 8081 --rate 0.05',
  },
  iplum: {
    usage: `  plumline emulate iplum [--port 8082] [--host 127.0.0.1] [--seed 1] [--rate <records/s>] [--callback-url <url>] [--list-after-end]
      Serve an emulator of iPlum's usage API until SIGINT/SIGTERM. Keys from IPLUM_ACCESS_KEY,
      IPLUM_SECRET_KEY and IPLUM_USERNAME, default ${IPLUM_DEFAULTS.accessKey}, ${IPLUM_DEFAULTS.secretKey} and
      ${IPLUM_DEFAULTS.username}. With --callback-url, push callbacks for new records there.
      --list-after-end: list a call only once it ended, as a service may (see lateness).`,
    example: 'plumline emulate iplum --port 8082 --rate 0.02',
  },
  'schema-registry': {
    usage: `  plumline emulate schema-registry [--port 8083] [--host 127.0.0.1]
      Serve a Confluent-compatible schema registry in memory (avro / json_schema encodings).`,
    example: 'plumline emulate schema-registry --port 8083',
  },
};

/** Each command's help: its usage and what it does, then an example. */
const COMMAND_HELP: Record<string, { usage: string; example: string }> = {
  run: {
    usage: `  plumline run <pipeline.yaml> [--once] [--log-level <level>] [--http 127.0.0.1:9464]
      Run until SIGINT/SIGTERM (a second signal stops at once). With --once, run every
      source to the end of its current range, flush, and exit 0 (progress bars on a TTY).
      A run that ends by itself exits 3 when records were dead-lettered beyond what the
      pipeline's dead_letter section expects (expected: true, max_ratio).
      --http serves a read-only web view (/ui/), /metrics (Prometheus), /healthz, /readyz,
      /status (JSON) and /tap/<component>; no authentication: keep it on 127.0.0.1 (the
      default host) or behind a proxy that authenticates.`,
    example: 'plumline run examples/generate-demo.yaml --once',
  },
  top: {
    usage: `  plumline top <host:port> [--interval 1s] [--frames N]
      A live view of a running pipeline's components, in graph order (rates, lag, errors), from
      the address given to its run --http (host:port or http://host:port).`,
    example: 'plumline top 127.0.0.1:9464',
  },
  validate: {
    usage: `  plumline validate <pipeline.yaml> [--no-env]
      Check the file as run would before it reads anything: every plugin's schema, and what each
      component needs to start (mask's key, TLS files, lookup files). Exit 0 when valid, 2 with
      located errors. --no-env reads no environment variable (CI without production secrets):
      a \${VAR} without a default is unset and what depends on it is not checked, nor keys and
      files of the machine; the rest is, and the output lists what was not.`,
    example: 'plumline validate examples/generate-demo.yaml',
  },
  schema: {
    usage: `  plumline schema [pipeline.yaml]
      Print the JSON Schema of pipeline files (for editor completion and CI checks): every
      built-in plugin, and with a file, the plugins its use: modules export.`,
    example: 'plumline schema > plumline.schema.json',
  },
  emulate: {
    usage: Object.values(EMULATE_HELP).map((e) => e.usage).join('\n'),
    example: 'plumline emulate plum --port 8081 --rate 0.05',
  },
  test: {
    usage: `  plumline test <pipeline.yaml>
      Run the file's tests: section (inputs into transforms, conditions on their output).
      Exit 0 when all pass, 1 when one fails, 2 for a config error.`,
    example: 'PLUM_USER=demo PLUM_PASSWORD=demo IPLUM_ACCESS_KEY=AK IPLUM_SECRET_KEY=SK IPLUM_USERNAME=admin@acme-voice.com plumline test examples/demo.yaml',
  },
  tap: {
    usage: `  plumline tap --url <host:port> <component> [--limit 20] [--every 1] [--format ndjson|table]
      Print a sample of what a source or transform of a running pipeline (plumline run --http)
      emits, without touching it. Stops after --limit events (0: at SIGINT).
  plumline tap <pipeline.yaml> <component> [--limit 20] [--every 1] [--format ndjson|table]
      Run the file standalone to look at a component: state in memory, every sink replaced by a
      blackhole, so nothing is written and no checkpoint moves.`,
    example: 'plumline tap examples/generate-demo.yaml unique --limit 5',
  },
  new: {
    usage: `  plumline new plugin <name> --kind source|operator|sink [--dir <parent>] [--core <core.tgz>]
      Scaffold a plugin package (schema, plugin, conformance tests, README) that builds as is.
      --core takes @plumline/core from a packed tarball (pnpm run pack:all in a clone writes
      them to packs/) rather than the npm registry.`,
    example: 'plumline new plugin acme-sink --kind sink',
  },
};

const LEVELS_LINE = 'Log levels: trace, debug, info (default), warn, error, silent.';

const USAGE = `plumline — log-stream pipelines for telephony call logs

Usage:
${Object.values(COMMAND_HELP)
  .map((c) => c.usage)
  .join('\n')}
  plumline <command> --help     that command alone, with an example
  plumline --version

${LEVELS_LINE}
`;

/** `plumline <command> --help`: the command's usage and an example (`emulate <which> --help`: that emulator's). */
function commandHelp(command: string, sub?: string): string | undefined {
  const c = (command === 'emulate' && sub !== undefined ? EMULATE_HELP[sub] : undefined) ?? COMMAND_HELP[command];
  return c && `Usage:\n${c.usage}\n\nExample:\n  ${c.example}\n${command === 'run' ? `\n${LEVELS_LINE}\n` : ''}`;
}

/** node:util's parseArgs errors in a line a user acts on (its own text for an unknown option suggests quoting it after `--`). */
function usageError(err: NodeJS.ErrnoException): string {
  const option = /'([^']+)'/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}: \`plumline <command> --help\` lists a command's options`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${err.message.replace(/\.$/, '')}: \`plumline <command> --help\` lists a command's options`;
  return err.message;
}

/**
 * The OpenTelemetry SDK when --http or the OTEL_EXPORTER_OTLP_* variables ask for it, and the
 * ops server for --http; a string says why --http cannot be served. Set up before the pipeline
 * exists, so its instruments come from the SDK, not the no-op API; the SDK (≈ 16 MB in memory)
 * loads only when asked for.
 */
async function observe(file: string, http: string | undefined, logger: Logger): Promise<{ ops?: OpsServer; sdk?: Observability } | string> {
  const otlp = otlpWanted(process.env);
  if (!http && !otlp.metrics && !otlp.traces) return {};
  const { Observability, metricsResource } = await import('./observability.js');
  const sdk = new Observability({ prometheus: Boolean(http), otlp, resource: metricsResource({ pipelineId: await pipelineIdOf(file), version: version() }) });
  if (otlp.metrics || otlp.traces) logger.info({ metrics: otlp.metrics, traces: otlp.traces }, 'exporting telemetry over OTLP (OTEL_EXPORTER_OTLP_*)');
  if (!http) return { sdk };
  const { OpsServer } = await import('./ops-server.js');
  const ops = new OpsServer(sdk.prometheus!, version());
  try {
    const url = await ops.start(http);
    logger.info({ ui: `${url}/ui/`, metrics: `${url}/metrics`, health: `${url}/healthz`, ready: `${url}/readyz` }, `serving the web view on ${url}/ui/, metrics and health`);
    return { ops, sdk };
  } catch (err) {
    await sdk.shutdown();
    return `cannot serve --http ${http}: ${(err as Error).message}`;
  }
}

/**
 * The id the pipeline in `file` will have (its `id:`, else the file's base name), for the metrics
 * resource, which exists before the pipeline does. A file that cannot be read yet gets its base
 * name: loading it reports the error.
 */
async function pipelineIdOf(file: string): Promise<string> {
  const id = await readPipelineFile(file).then((p) => p.id, () => undefined);
  return typeof id === 'string' ? id : basename(file, extname(file));
}

/** The CLI package's version, from its package.json. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Where the CLI writes (the process's streams, or a test's). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      // -v as most tools take it (node -v): the version.
      args: argv.map((a) => (a === '-v' ? '--version' : a)),
      allowPositionals: true,
      options: {
        once: { type: 'boolean', default: false },
        'no-env': { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'V', default: false },
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        seed: { type: 'string', default: '1' },
        rate: { type: 'string' },
        'callback-url': { type: 'string' },
        'list-after-end': { type: 'boolean' },
        limit: { type: 'string', default: String(DEFAULT_TAP_LIMIT) },
        every: { type: 'string', default: '1' },
        format: { type: 'string' },
        kind: { type: 'string' },
        http: { type: 'string' },
        interval: { type: 'string' },
        frames: { type: 'string' },
        dir: { type: 'string' },
        core: { type: 'string' },
        url: { type: 'string' },
      },
    });
  } catch (err) {
    io.stderr.write(`error: ${usageError(err as NodeJS.ErrnoException)}\n`);
    return EXIT_INVALID;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.version || command === 'version') {
    io.stdout.write(`plumline ${version()} (Node.js ${process.versions.node})\n`);
    return EXIT_OK;
  }
  const help = parsed.values.help && command !== undefined ? commandHelp(command, rest[0]) : undefined;
  if (help) {
    io.stdout.write(help);
    return EXIT_OK;
  }
  if (parsed.values.help || command === undefined || command === 'help') {
    io.stdout.write(USAGE);
    return command === undefined && !parsed.values.help ? EXIT_INVALID : EXIT_OK;
  }
  const level = parsed.values['log-level'] as LevelWithSilent;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) {
    io.stderr.write(`error: --log-level must be one of trace, debug, info, warn, error, silent\n`);
    return EXIT_INVALID;
  }
  switch (command) {
    case 'validate':
      return validate(rest[0], io, { noEnv: parsed.values['no-env'] === true });
    case 'schema':
      try {
        io.stdout.write(JSON.stringify(await pipelineSchemaFor(await registryFor(undefined), rest[0]), null, 2) + '\n');
        return EXIT_OK;
      } catch (err) {
        io.stderr.write(formatError(err) + '\n');
        return EXIT_INVALID;
      }
    case 'emulate':
      // The emulators import their packages: loaded only for this command.
      return (await import('./emulate.js')).emulate(rest[0], { host: parsed.values.host ?? '127.0.0.1', port: Number(parsed.values.port ?? ({ iplum: 8082, 'schema-registry': 8083 } as Record<string, number>)[rest[0] ?? ''] ?? 8081), seed: Number(parsed.values.seed ?? 1), rate: parsed.values.rate === undefined ? undefined : Number(parsed.values.rate), callbackUrl: parsed.values['callback-url'], listAfterEnd: parsed.values['list-after-end'] === true }, io);
    case 'run':
      return run(rest[0], { once: parsed.values.once ?? false, level, http: parsed.values.http }, io);
    case 'test':
      return testCommand(rest[0], io);
    case 'top': {
      const intervalMs = parsed.values.interval ? parseDuration(parsed.values.interval) : 1000;
      const frames = parsed.values.frames === undefined ? undefined : Number(parsed.values.frames);
      if (!Number.isFinite(intervalMs) || intervalMs <= 0 || (frames !== undefined && (!Number.isInteger(frames) || frames < 1))) {
        io.stderr.write('error: --interval is a duration (e.g. 1s), --frames an integer ≥ 1\n');
        return EXIT_INVALID;
      }
      return topCommand(rest[0], { intervalMs, frames }, io);
    }
    case 'new':
      return newPluginCommand(rest, { kind: parsed.values.kind, dir: parsed.values.dir, core: parsed.values.core }, io);
    case 'tap': {
      const limit = Number(parsed.values.limit);
      const every = Number(parsed.values.every);
      const format = parsed.values.format ?? ((io.stdout as NodeJS.WriteStream).isTTY ? 'table' : 'ndjson');
      if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(every) || every < 1 || (format !== 'ndjson' && format !== 'table')) {
        io.stderr.write('error: --limit is an integer ≥ 0, --every an integer ≥ 1, --format ndjson or table\n');
        return EXIT_INVALID;
      }
      return tapCommand(rest, { limit, every, format, url: parsed.values.url }, io);
    }
    default:
      io.stderr.write(`error: unknown command "${command}"\n\n${USAGE}`);
      return EXIT_INVALID;
  }
}

async function validate(file: string | undefined, io: CliIo, opts: { noEnv: boolean }): Promise<number> {
  if (!file) {
    io.stderr.write('error: plumline validate needs a pipeline file\n');
    return EXIT_INVALID;
  }
  try {
    const def = await resolvePipelineFile(file, { registry: await registryForFile(file), noEnv: opts.noEnv });
    const counts = `${def.sources.length} sources, ${def.transforms.length} transforms, ${def.sinks.length} sinks`;
    if (!def.unchecked) {
      io.stdout.write(`${file}: valid (${counts})\n`);
      return EXIT_OK;
    }
    const vars = def.unchecked.variables;
    io.stdout.write(
      `${file}: valid without the environment (${counts}); not checked: ${vars.length ? `what is made with ${vars.map((v) => `\${${v}}`).join(', ')} (unset), ` : ''}environment variables components read (e.g. mask's key), files of the machine (TLS keys)\n`,
    );
    return EXIT_OK;
  } catch (err) {
    io.stderr.write(formatError(err) + '\n');
    return err instanceof ConfigErrors || err instanceof ConfigError ? EXIT_INVALID : EXIT_FAILED;
  }
}

async function run(file: string | undefined, opts: { once: boolean; level: LevelWithSilent; http: string | undefined }, io: CliIo): Promise<number> {
  if (!file) {
    io.stderr.write('error: plumline run needs a pipeline file\n');
    return EXIT_INVALID;
  }
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: opts.level, redactor, destination: io.stderr });
  // Signals are ours from the first moment: a SIGTERM while plugins load (seconds on a busy host)
  // must stop the run gracefully, not kill the process with Node's default action.
  let signals = 0;
  let pipeline: Awaited<ReturnType<typeof loadPipeline>> | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      logger.info({ signal: sig }, 'signal received: stopping gracefully (send it again to stop at once)');
      void pipeline?.stop().catch(() => {});
    } else {
      logger.warn({ signal: sig }, 'second signal: stopping now; uncommitted work will be redone on the next run');
      process.exit(EXIT_SIGNAL);
    }
  };
  // SIGHUP: sources read their accounts files again (a daemon's tenants change without a restart).
  const onHangup = (): void => {
    logger.info({ signal: 'SIGHUP' }, 'signal received: reading accounts files again');
    void pipeline?.reload?.().catch((err: unknown) => logger.error({ err }, 'reload failed'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  try {
    return await runLoaded(file, opts, io, logger, redactor, {
      signals: () => signals,
      loaded: (p) => (pipeline = p),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
  }
}

async function runLoaded(
  file: string,
  opts: { once: boolean; level: LevelWithSilent; http: string | undefined },
  io: CliIo,
  logger: ReturnType<typeof createLogger>,
  redactor: SecretRedactor,
  signal: { signals: () => number; loaded: (p: Awaited<ReturnType<typeof loadPipeline>>) => void },
): Promise<number> {
  const observed = await observe(file, opts.http, logger);
  if (typeof observed === 'string') {
    io.stderr.write(`error: ${observed}\n`);
    return EXIT_INVALID;
  }
  const { ops, sdk } = observed;
  const release = async () => {
    await ops?.close();
    await sdk?.shutdown();
  };
  let pipeline;
  try {
    pipeline = await loadPipeline(file, { plugins: await registryForFile(file), logger, redactor, once: opts.once });
    for (const s of pipeline.definition.secrets) redactor.add(s);
    ops?.attach(pipeline, (t) => redactor.redact(t));
  } catch (err) {
    await release();
    io.stderr.write(formatError(err) + '\n');
    return err instanceof ConfigErrors || err instanceof ConfigError ? EXIT_INVALID : EXIT_FAILED;
  }
  signal.loaded(pipeline);
  const progress = opts.once ? new ProgressView(pipeline, io.stderr, logger) : undefined;
  try {
    // A signal while loading: stop before reading anything (stop() before start() ends the pipeline).
    if (signal.signals() > 0) await pipeline.stop();
    else await pipeline.start();
    progress?.start();
    const result = await pipeline.done;
    const totals = Object.entries(result.stats).map(([id, s]) => `${id}: in ${s.eventsIn} out ${s.eventsOut}${s.deadLettered ? ` dead ${s.deadLettered}` : ''}`);
    logger.info({ components: totals }, 'done');
    // A run asked to stop (a daemon's SIGTERM) has no end result to judge; one that ended by itself does.
    if (signal.signals() === 0 && result.failedTenants) {
      progress?.stop();
      io.stderr.write(`error: ${redactor.redact(failedTenantsSummary(result.failedTenants))}\n`);
      return EXIT_TENANTS_FAILED;
    }
    if (signal.signals() === 0 && !result.deadLetters.expected) {
      progress?.stop(); // its last frame above, the verdict last
      io.stderr.write(`error: ${redactor.redact(deadLetterSummary(result.deadLetters, pipeline.definition))}\n`);
      return EXIT_DEAD_LETTERS;
    }
    return EXIT_OK;
  } catch (err) {
    logger.error({ err }, 'pipeline failed');
    io.stderr.write(redactor.redact(formatError(err)) + '\n');
    return err instanceof ConfigErrors || err instanceof ConfigError ? EXIT_INVALID : EXIT_FAILED;
  } finally {
    progress?.stop();
    await release();
  }
}

/** The verdict of a run in which accounts failed: every one named, with its error code, per source. */
export function failedTenantsSummary(failed: NonNullable<PipelineResult['failedTenants']>): string {
  const lines = Object.entries(failed).map(([source, tenants]) => `source "${source}": ${tenants.length} account${tenants.length === 1 ? '' : 's'} failed: ${tenants.map((t) => `${t.account} (${t.error?.code ?? 'error'}${t.error ? `: ${t.error.message}` : ''})`).join('; ')}`);
  return `${lines.join('\n')}\nThe other accounts were read to their end; fix these and run again (each resumes from its checkpoint).`;
}
