import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { isPlumlineError } from './errors.js';

/** The logger components get (pino), and its levels. */
export type { Logger, LevelWithSilent } from 'pino';

const REDACTED = '[REDACTED]';

/**
 * Holds the secret strings of a pipeline (values of fields marked secret in plugin schemas)
 * and replaces them in anything about to be written to a log. Redacting the serialized line
 * catches secrets wherever they hide: messages, error causes, nested objects.
 */
export class SecretRedactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  add(secret: string): void {
    // Very short values would redact innocent text and hide nothing worth hiding.
    if (secret.length < 4 || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    // Built at the next redaction, not per secret: 10,000 accounts' passwords are added one by one.
    this.pattern = undefined;
  }

  redact(text: string): string {
    if (this.secrets.size === 0) return text;
    this.pattern ??= new RegExp(
      [...this.secrets]
        .sort((a, b) => b.length - a.length)
        .map((s) => JSON.stringify(s).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.pattern, REDACTED);
  }
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable lines instead of JSON. Default: when stderr is a TTY. */
  pretty?: boolean;
  redactor?: SecretRedactor;
  /** Where lines go. Default: stderr (stdout belongs to data, e.g. the stdout sink). */
  destination?: NodeJS.WritableStream;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };

/** Turns pino's JSON lines into `12:00:01 INFO  [component] message key=value`. */
function prettyStream(out: NodeJS.WritableStream, color: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          out.write(line + '\n');
          continue;
        }
        const { level, time, msg, component, pid: _pid, hostname: _h, err, ...rest } = rec;
        const lvl = LEVEL_NAMES[level as number] ?? String(level);
        const t = new Date(time as number).toISOString().slice(11, 23);
        const tag = color ? `\x1b[${LEVEL_COLORS[level as number] ?? '0'}m${lvl.padEnd(5)}\x1b[0m` : lvl.padEnd(5);
        const comp = component ? `[${String(component)}] ` : '';
        const extras = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const errText = err && typeof err === 'object' ? ` ${(err as { stack?: string; message?: string }).stack ?? (err as { message?: string }).message}` : '';
        out.write(`${t} ${tag} ${comp}${String(msg ?? '')}${extras ? ' ' + extras : ''}${errText}\n`);
      }
      callback();
    },
  });
}

/**
 * How errors appear in log lines: an error plumline raised (a PlumlineError, which says what
 * went wrong and what to do) as its code, message and fields — a user who gave a bad listen
 * address or state path needs no stack trace — and anything else, a bug, with its stack.
 */
export function serializeError(err: unknown): unknown {
  if (!isPlumlineError(err)) return pino.stdSerializers.err(err as Error);
  const cause = err.cause instanceof Error ? { cause: `${(err.cause as { code?: string }).code ? `${(err.cause as { code?: string }).code}: ` : ''}${err.cause.message}` } : {};
  // Another copy of core (a plugin's) may be older: read what every copy carries if it has no toJSON.
  const json = typeof err.toJSON === 'function' ? err.toJSON() : { name: err.name, code: err.code, message: err.message, retriable: err.retriable, ...err.fields };
  return { ...json, type: err.name, ...cause };
}

/** The root logger of a pipeline. Components get children carrying their id as `component`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const out = options.destination ?? process.stderr;
  const pretty = options.pretty ?? Boolean((out as { isTTY?: boolean }).isTTY);
  const redactor = options.redactor;
  const stream = pretty ? prettyStream(out, Boolean((out as { isTTY?: boolean }).isTTY)) : out;
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      serializers: { err: serializeError },
      hooks: redactor ? { streamWrite: (s: string) => redactor.redact(s) } : {},
    },
    stream as pino.DestinationStream,
  );
}
