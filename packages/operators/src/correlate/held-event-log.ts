import { CheckedLog, type BatchPosition, type CallEvent, type ComponentState, type Logger, type StagedWrite } from '@plumline/core';
import { stateCorrupt } from '@plumline/core/util';
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

/** First line of a log rewritten under exactly-once: the records numbered below `upto` that live on. */
interface RewriteHeader {
  upto: number;
  live: number[];
}

/** The log record of a held event (positions without their checkpoints: isCommitted needs only source and seq). */
const recordOf = (h: Held, n: number): LogRecord => ({ n, e: h.e, p: h.positions.map((p) => ({ source: p.source, seq: p.seq })), t: h.arrivedMs });

/**
 * correlate's durable memory: the events it held long enough to write down, in a log in the
 * state store. Appends, "gone" lines and rewrites run one at a time in order; the log is
 * compacted when it outgrows what is live. Each append is one checked block (see CheckedLog):
 * a torn last block (a kill during an append) is dropped on load; a log that lost or garbled
 * what the last commit covered stops the start with STATE_CORRUPT.
 */
export class HeldEventLog {
  /** Every write to the log, in order: an append must not overtake another or meet a rewrite. */
  private writes: Promise<void> = Promise.resolve();
  private nextN = 1;
  private logBytes = 0;
  private liveBytes = 0;
  private readonly log: CheckedLog;

  constructor(
    state: ComponentState,
    private readonly logger: Logger,
    componentId: string,
    atomic: boolean,
  ) {
    this.log = new CheckedLog(state, LOG_KEY, componentId, logger, atomic);
  }

  /** Reads the log's lines, checked (a log from before checked logs: as then, torn last line skipped). */
  private async readLines(): Promise<{ lines: string[]; legacy: boolean }> {
    const loaded = await this.log.load();
    if (loaded.format === 'legacy') return { lines: loaded.data.toString('utf8').split('\n'), legacy: true };
    return { lines: Buffer.concat(loaded.payloads).toString('utf8').split('\n'), legacy: false };
  }

  /** Records how much of the log is durable, after every write queued before: before each checkpoint commit. */
  storeHead(): Promise<void> {
    return this.serially(() => this.log.storeHead());
  }

  /**
   * Reads the log and keeps the records whose source batches are committed (the source reads
   * the others again); rewrites the log as those. Returns them, each with its size in the log.
   */
  async load(isCommitted: (positions: readonly BatchPosition[]) => boolean): Promise<(LogRecord & { bytes: number })[]> {
    const { lines, legacy } = await this.readLines();
    this.logBytes = this.log.size;
    const live = new Map<number, LogRecord & { bytes: number }>();
    // Under exactly-once a release's "gone" line and the held event's own line commit with
    // different batches, and may land in either order: a number gone once stays gone.
    const gone = new Set<number>();
    let kept: { upto: number; live: Set<number> } | undefined;
    let unreadable = 0;
    lines.forEach((line, i) => {
      if (!line) return;
      let r: LogRecord | { g: number[] } | RewriteHeader;
      try {
        r = JSON.parse(line) as LogRecord | { g: number[] } | RewriteHeader;
      } catch {
        // Checked blocks hold whole lines: one that does not parse was written so (a bug), not torn.
        if (!legacy) throw stateCorrupt(this.log.fileName, `line ${i + 1} has a good checksum but is not JSON: it was not written by correlate`);
        // Before checked logs: a kill during an append leaves a torn last line: that append never
        // completed, and the source reads its events again. Anything torn elsewhere is reported and skipped.
        if (i !== lines.length - 1) unreadable++;
        return;
      }
      if ('upto' in r) {
        // A rewrite's header: of the records numbered below `upto`, only those it names live on.
        // Staged appends that were committed after it (a batch's held events carried by a later
        // transaction) would otherwise bring back events released before the rewrite.
        kept = { upto: r.upto, live: new Set(r.live) };
        for (const n of live.keys()) if (!kept.live.has(n)) live.delete(n);
      } else if ('g' in r) {
        for (const n of r.g) {
          live.delete(n);
          gone.add(n);
        }
      } else if (!gone.has(r.n) && !(kept && r.n < kept.upto && !kept.live.has(r.n))) {
        live.set(r.n, { ...r, bytes: Buffer.byteLength(line) + 1 });
      }
      this.nextN = Math.max(this.nextN, ('n' in r ? r.n : 'upto' in r ? r.upto - 1 : 0) + 1);
    });
    if (unreadable) this.logger.warn({ code: 'STATE_LOG_DAMAGED', lines: unreadable }, 'correlate: skipped unreadable lines in the held-event log');
    const committed = [...live.values()].filter((r) => isCommitted(r.p));
    if (live.size) this.logger.info({ restored: committed.length, fromUncommittedBatches: live.size - committed.length }, 'correlate: held events restored');
    // The log is rewritten with what was restored: the rest comes again from the source.
    if (this.logBytes > 0 || legacy) await this.rewrite(this.textOf(committed, false));
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

  /**
   * Exactly-once: `lines` as a write to stage on a batch (committed in its transaction, not
   * appended here). Compaction then goes through {@link compactIfGrown}.
   */
  staged(lines: readonly string[]): StagedWrite {
    const write = this.log.staged([Buffer.from(lines.join(''))]);
    this.logBytes = this.log.size;
    return write;
  }

  /**
   * Exactly-once: when the log outgrew what lives, its rewrite as `live` (with a header naming
   * them, see load), to stage on the batch at hand; else undefined. Staged, it commits after the
   * "gone" lines of every release before it and before those after it, so `live` must hold the
   * events still held, not those on their way out.
   */
  stagedRewrite(live: () => Iterable<Held>): StagedWrite | undefined {
    if (this.logBytes <= this.liveBytes * 2 + COMPACT_SLACK_BYTES) return undefined;
    const text = this.rewriteText(live(), true);
    const write = this.log.stagedRewrite([Buffer.from(text)]);
    this.liveBytes = Buffer.byteLength(text);
    this.logBytes = this.log.size;
    return write;
  }

  /** Appends `lines` after every write queued before; then, given `live`, compacts if the log outgrew it. */
  append(lines: readonly string[], live?: () => Iterable<Held>): Promise<void> {
    return this.serially(async () => {
      await this.log.append([Buffer.from(lines.join(''))]);
      this.logBytes = this.log.size;
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
    return this.rewrite(this.rewriteText(live, false));
  }

  /** The log as the logged events among `live`; with `header`, led by the line naming them (see load). */
  private rewriteText(live: Iterable<Held>, header: boolean): string {
    const records: LogRecord[] = [];
    for (const h of live) if (h.log) records.push(recordOf(h, h.log.n));
    return this.textOf(records, header);
  }

  private textOf(records: readonly LogRecord[], header: boolean): string {
    // Only the record's own fields (a restored record also carries its size).
    const body = records.map((r) => JSON.stringify({ n: r.n, e: r.e, p: r.p, t: r.t } satisfies LogRecord) + '\n').join('');
    return header ? JSON.stringify({ upto: this.nextN, live: records.map((r) => r.n) } satisfies RewriteHeader) + '\n' + body : body;
  }

  private async rewrite(text: string): Promise<void> {
    await this.log.rewrite([Buffer.from(text)]);
    this.liveBytes = Buffer.byteLength(text);
    this.logBytes = this.log.size;
  }
}
