import { fstatSync, read } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { CallEvent, DeadLetter } from '../../event.js';
import { PipelineError } from '../../errors.js';
import { defineSource, type SourcePage } from '../../plugin.js';
import { systemClock } from '../../util/clock.js';

export const DEFAULT_STDIN_BATCH_SIZE = 1000;
export const STDIN_READ_CHUNK_BYTES = 1 << 20;

export const stdinConfigSchema = z.strictObject({
  batch_size: z.int().min(1).max(100_000).default(DEFAULT_STDIN_BATCH_SIZE).describe('Events per batch at most.'),
  max_line_bytes: z.int().min(64).default(1 << 20).describe('Longer lines are dead-lettered instead of parsed.'),
});

/**
 * Turns one NDJSON line into an event. Objects that lack `id` are refused (an event without
 * a stable id cannot be deduplicated or traced); missing `source`, `kind`, `time` and
 * `attributes` get defaults.
 */
export function parseEventLine(line: string, sourceId: string, nowMs: () => number = systemClock.now): CallEvent {
  const v = JSON.parse(line) as unknown;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError('line is not a JSON object');
  const o = v as Partial<CallEvent>;
  if (typeof o.id !== 'string' || o.id === '') throw new TypeError('event has no string "id"');
  if (o.source === undefined) o.source = sourceId;
  if (o.kind === undefined) o.kind = 'record';
  if (o.time === undefined) o.time = new Date(nowMs()).toISOString();
  if (o.attributes === undefined) o.attributes = {};
  return o as CallEvent;
}

/**
 * Reads NDJSON lines and emits them as batches. Used with `--once` it ends at end of input.
 * A line that is not a JSON event object goes to the dead-letter output with the reason.
 * From a stream (a pipe, a terminal) a batch also ends when nothing more is buffered, so
 * interactive input is not held back; from chunks of a regular file (no `readableLength`) batches
 * are always `batchSize` events but the last, the same on every run.
 */
export async function* readNdjsonEvents(input: AsyncIterable<Buffer | string> & { readonly readableLength?: number }, sourceId: string, batchSize: number, maxLineBytes: number): AsyncGenerator<SourcePage> {
  // A character split between two chunks is decoded whole (Buffer#toString would garble it).
  const decoder = new StringDecoder('utf8');
  const interactive = typeof input.readableLength === 'number';
  let rest = '';
  let events: CallEvent[] = [];
  let dead: DeadLetter[] = [];
  let lineNo = 0;
  const take = (line: string): void => {
    lineNo++;
    if (line.length === 0 || (line.length === 1 && line === '\r')) return;
    if (line.length > maxLineBytes) {
      dead.push({ code: 'LINE_TOO_LONG', reason: `line ${lineNo} is longer than ${maxLineBytes} bytes`, record: line.slice(0, 1024), context: { line: lineNo } });
      return;
    }
    try {
      events.push(parseEventLine(line, sourceId));
    } catch (err) {
      dead.push({ code: 'BAD_EVENT_LINE', reason: `line ${lineNo}: ${(err as Error).message}`, record: line, context: { line: lineNo } });
    }
  };
  for await (const chunk of input) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      take(text.slice(start, nl));
      start = nl + 1;
      if (events.length >= batchSize) {
        yield dead.length ? { events, dead } : { events };
        events = [];
        dead = [];
      }
    }
    rest = start === 0 ? text : text.slice(start);
    // Interactive input: hand over what we have when nothing more is buffered.
    if (interactive && (events.length > 0 || dead.length > 0) && input.readableLength === 0) {
      yield dead.length ? { events, dead } : { events };
      events = [];
      dead = [];
    }
  }
  rest += decoder.end();
  if (rest.length) take(rest);
  if (events.length || dead.length) yield dead.length ? { events, dead } : { events };
}

const readFd = promisify(read);

/**
 * The chunks of a regular file on `fd` from its current offset. Two buffers take turns: the read
 * of the next chunk runs (in libuv's thread pool) while the consumer works through this one, so
 * the pipeline does not sit idle waiting for each read. A yielded chunk is valid until the
 * consumer asks for the next one (readNdjsonEvents decodes it at once).
 */
export async function* fileChunks(fd: number, signal?: AbortSignal, chunkBytes = STDIN_READ_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)] as const;
  let turn = 0;
  let next = readFd(fd, bufs[0], 0, chunkBytes, null);
  try {
    while (!signal?.aborted) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return;
      turn ^= 1;
      // One read at a time, each from where the last ended (the file's offset).
      next = readFd(fd, bufs[turn]!, 0, chunkBytes, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // Stopped early: the read in flight ends into a buffer no one reads (its error too).
    next.catch(() => undefined);
  }
}

/**
 * `stdin`: NDJSON events from standard input, one per line.
 *
 * ```yaml
 * sources:
 *   in: { type: stdin }
 * ```
 */
export const stdinSource = defineSource({
  type: 'stdin',
  description: 'Reads NDJSON events from standard input; ends at end of input.',
  configSchema: stdinConfigSchema,
  create(config, ctx) {
    let stream: NodeJS.ReadStream | undefined;
    return {
      bounded: true,
      // Each event is JSON.parse's new object, yielded once.
      handsOverEvents: true,
      read() {
        const input = regularFileOnStdin() ? fileChunks(0, ctx.signal) : (stream = process.stdin);
        ctx.signal.addEventListener('abort', () => stream?.destroy(), { once: true });
        return failingAs(readNdjsonEvents(input, ctx.id, config.batch_size, config.max_line_bytes));
      },
      async close() {
        stream?.destroy();
      },
    };
  },
});

/**
 * A regular file on fd 0 is read in large chunks with plain reads (the fast path, `< file`).
 * Anything else — a pipe, a socket, a terminal — goes through process.stdin, which libuv polls:
 * plain reads fail with EAGAIN when the descriptor is non-blocking (as a parent may leave it).
 */
function regularFileOnStdin(): boolean {
  try {
    return fstatSync(0).isFile();
  } catch {
    // No fd 0 to stat: process.stdin reports what is wrong.
    return false;
  }
}

/** Passes pages on; a read error becomes a located, non-retriable STDIN_READ_FAILED. */
async function* failingAs(pages: AsyncGenerator<SourcePage>): AsyncGenerator<SourcePage> {
  try {
    yield* pages;
  } catch (err) {
    throw new PipelineError('STDIN_READ_FAILED', `cannot read standard input: ${(err as Error).message}`, { cause: err, retriable: false, fields: { code: (err as NodeJS.ErrnoException).code } });
  }
}
