import type { BatchPosition, CallEvent, ComponentState, Logger } from '@plumline/core';
import type { Held } from './correlator.js';

/** State log of the held events: one JSON line per event written to it, and lines naming those that left. */
const LOG_KEY = 'held.log';
/** The log is rewritten when it is more than twice what is live plus this. */
const COMPACT_SLACK_BYTES = 1 << 20;

/** One held event as logged: its number, the event, the source batches it came from, when it arrived. */
export interface LogRecord {
  n: number;
  e: CallEvent;
  p: { source: string; seq: number }[];
  t: number;
}

/** The log record of a held event (positions without their checkpoints: isCommitted needs only source and seq). */
const recordOf = (h: Held, n: number): LogRecord => ({ n, e: h.e, p: h.positions.map((p) => ({ source: p.source, seq: p.seq })), t: h.arrivedMs });

/**
 * correlate's durable memory: the events it held long enough to write down, in a log in the
 * state store. Appends, "gone" lines and rewrites run one at a time in order; the log is
 * compacted when it outgrows what is live; a torn last line (a kill during an append) is
 * skipped on load.
 */
export class HeldEventLog {
  /** Every write to the log, in order: an append must not overtake another or meet a rewrite. */
  private writes: Promise<void> = Promise.resolve();
  private nextN = 1;
  private logBytes = 0;
  private liveBytes = 0;

  constructor(
    private readonly state: ComponentState,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads the log and keeps the records whose source batches are committed (the source reads
   * the others again); rewrites the log as those. Returns them, each with its size in the log.
   */
  async load(isCommitted: (positions: readonly BatchPosition[]) => boolean): Promise<(LogRecord & { bytes: number })[]> {
    const data = Buffer.from(await this.state.readLog(LOG_KEY));
    this.logBytes = data.byteLength;
    const live = new Map<number, LogRecord & { bytes: number }>();
    const lines = data.toString('utf8').split('\n');
    let unreadable = 0;
    lines.forEach((line, i) => {
      if (!line) return;
      let r: LogRecord | { g: number[] };
      try {
        r = JSON.parse(line) as LogRecord | { g: number[] };
      } catch {
        // A kill during an append leaves a torn last line: that append never completed, and the
        // source reads its events again. Anything torn elsewhere is reported and skipped.
        if (i !== lines.length - 1) unreadable++;
        return;
      }
      if ('g' in r) for (const n of r.g) live.delete(n);
      else live.set(r.n, { ...r, bytes: Buffer.byteLength(line) + 1 });
      this.nextN = Math.max(this.nextN, ('n' in r ? r.n : 0) + 1);
    });
    if (unreadable) this.logger.warn({ code: 'STATE_LOG_DAMAGED', lines: unreadable }, 'correlate: skipped unreadable lines in the held-event log');
    const committed = [...live.values()].filter((r) => isCommitted(r.p));
    if (live.size) this.logger.info({ restored: committed.length, fromUncommittedBatches: live.size - committed.length }, 'correlate: held events restored');
    // The log is rewritten with what was restored: the rest comes again from the source.
    if (this.logBytes > 0) await this.rewrite(committed);
    return committed;
  }

  /** The log line of `h`, which from now on counts as logged (`h.log`). Write it with {@link append}. */
  line(h: Held): string {
    const line = JSON.stringify(recordOf(h, this.nextN)) + '\n';
    h.log = { n: this.nextN++, bytes: Buffer.byteLength(line) };
    this.liveBytes += h.log.bytes;
    return line;
  }

  /** The line saying that these logged events left for good, or undefined when there are none. */
  goneLine(left: readonly Held[]): string | undefined {
    const gone: number[] = [];
    for (const h of left) {
      if (!h.log) continue;
      gone.push(h.log.n);
      this.liveBytes -= h.log.bytes;
    }
    return gone.length ? JSON.stringify({ g: gone }) + '\n' : undefined;
  }

  /** Appends `lines` after every write queued before; then, given `live`, compacts if the log outgrew it. */
  append(lines: readonly string[], live?: () => Iterable<Held>): Promise<void> {
    return this.serially(async () => {
      const data = Buffer.from(lines.join(''));
      await this.state.append(LOG_KEY, data);
      this.logBytes += data.byteLength;
      if (live && this.logBytes > this.liveBytes * 2 + COMPACT_SLACK_BYTES) await this.compact(live());
    });
  }

  /** Runs `write` after every log write queued before it. */
  private serially(write: () => Promise<void>): Promise<void> {
    const done = this.writes.then(write);
    this.writes = done.catch(() => {});
    return done;
  }

  /** Rewrites the log as the logged events among `live`. Only inside {@link serially}. */
  private compact(live: Iterable<Held>): Promise<void> {
    const records: LogRecord[] = [];
    for (const h of live) if (h.log) records.push(recordOf(h, h.log.n));
    return this.rewrite(records);
  }

  private async rewrite(records: readonly LogRecord[]): Promise<void> {
    // Only the record's own fields (a restored record also carries its size).
    const text = records.map((r) => JSON.stringify({ n: r.n, e: r.e, p: r.p, t: r.t } satisfies LogRecord) + '\n').join('');
    await this.state.rewriteLog(LOG_KEY, Buffer.from(text));
    this.logBytes = this.liveBytes = Buffer.byteLength(text);
  }
}
