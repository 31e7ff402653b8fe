import { CheckedLog, StateError, type ComponentState, type LoadedLog, type Logger } from '@plumline/core';

const WAL_KEY = 'wal';
/** Rewrite the log once this many committed entries sit at its head. */
const TRIM_AFTER_ENTRIES = 20_000;

export interface WalEntry {
  seq: number;
  body: unknown;
}

interface Waiting {
  payload: Buffer;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/**
 * The callback receiver's write-ahead log, kept in the state store as a checked log (core's
 * CheckedLog: one checksummed block per callback, `{"s":<seq>,"b":<body>}`). `append` resolves
 * only once the entry is fsynced; appends that arrive while a write is in progress are written
 * together (group commit: one fsync serves many callbacks). At start anything that does not add
 * up — a damaged entry with entries after it, entries missing, a log shorter than when it was last
 * rewritten — stops the start with STATE_CORRUPT naming the file: each entry was answered 2xx, so
 * dropping one loses a callback for good. Only a torn last entry (an append cut short by a kill,
 * never answered 2xx) is dropped.
 */
export class CallbackWal {
  private nextSeq = 1;
  private waiting: Waiting[] = [];
  private writing: Promise<void> | undefined;
  /** Entries in the log that the committed checkpoint may not cover yet, oldest first. */
  private live: { seq: number; payload: Buffer }[] = [];
  private committedHead = 0;
  private readonly log: CheckedLog;

  constructor(state: ComponentState, componentId: string, logger: Logger) {
    this.log = new CheckedLog(state, WAL_KEY, componentId, logger);
  }

  /** Reads the log; returns the entries after `committedSeq` (to replay) and prepares to append after the last one. */
  async open(committedSeq: number): Promise<WalEntry[]> {
    const entries = this.entries(await this.log.load());
    const replay: WalEntry[] = [];
    let maxSeq = committedSeq;
    for (const [i, e] of entries.entries()) {
      const prev = entries[i - 1];
      if (prev && e.seq !== prev.seq + 1) throw this.corrupt(`entry ${e.seq} follows entry ${prev.seq}: entries between them are missing or out of order`);
      // Entries are trimmed only once the checkpoint covers them: the first must not skip past it.
      if (!prev && e.seq > committedSeq + 1) throw this.corrupt(`it starts at entry ${e.seq}, but the committed checkpoint covers only up to entry ${committedSeq}: entries ${committedSeq + 1}–${e.seq - 1} are missing`);
      maxSeq = Math.max(maxSeq, e.seq);
      if (e.seq > committedSeq) {
        replay.push({ seq: e.seq, body: e.body });
        this.live.push({ seq: e.seq, payload: e.payload });
      }
    }
    this.nextSeq = maxSeq + 1;
    // Start from a clean log: only what still needs delivering (a legacy log is rewritten checked now).
    await this.log.rewrite(this.live.map((l) => l.payload));
    return replay;
  }

  /** The entries of the log as loaded: checked blocks, or (once) the one-JSON-per-line log of the version before. */
  private entries(loaded: LoadedLog): (WalEntry & { payload: Buffer })[] {
    if (loaded.format === 'checked') {
      return loaded.payloads.map((payload, i) => {
        const e = parseEntry(payload.toString('utf8'));
        if (!e) throw this.corrupt(`block ${i + 1} has a good checksum but is not a callback entry ({"s":<seq>,"b":<body>}): it was not written by iplum_callbacks`);
        return { ...e, payload };
      });
    }
    const lines = loaded.data.toString('utf8').split('\n');
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    const out: (WalEntry & { payload: Buffer })[] = [];
    for (const [i, line] of lines.entries()) {
      const e = parseEntry(line);
      if (e) {
        out.push({ ...e, payload: Buffer.from(line) });
        continue;
      }
      // A torn last line: the append was cut short, and the request never answered 2xx.
      if (i === lines.length - 1) break;
      throw this.corrupt(`line ${i + 1} (of ${lines.length}, written before the log was checksummed) is not a callback entry, and entries follow it: only a torn last line can come from a crash`);
    }
    return out;
  }

  private corrupt(why: string): StateError {
    return new StateError(
      'STATE_CORRUPT',
      `state ${this.log.fileName} (the iplum_callbacks write-ahead log) cannot be trusted: ${why}. Each entry is a callback answered 2xx: nothing was dropped or changed. Restore this pipeline's state from a backup (docs/operations.md#backing-up-and-restoring-state); to go on without the callbacks it holds, move the pipeline's whole state directory aside (its head is a value in state.log; the other sources then read from their start, and iPlum does not send these callbacks again)`,
      { retriable: false, fields: { file: this.log.fileName } },
    );
  }

  /** Stores `body` durably; resolves with its sequence number. */
  append(body: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ payload: Buffer.from(JSON.stringify(body)), resolve, reject });
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length) {
        const group = this.waiting;
        this.waiting = [];
        const first = this.nextSeq;
        const payloads = group.map((w, i) => Buffer.concat([Buffer.from(`{"s":${first + i},"b":`), w.payload, Buffer.from('}')]));
        try {
          await this.log.append(payloads);
        } catch (err) {
          for (const w of group) w.reject(err);
          continue;
        }
        this.nextSeq += group.length;
        payloads.forEach((payload, i) => this.live.push({ seq: first + i, payload }));
        group.forEach((w, i) => w.resolve(first + i));
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Drops entries up to `committedSeq` from the log once enough have piled up. */
  async trim(committedSeq: number): Promise<void> {
    while (this.committedHead < this.live.length && this.live[this.committedHead]!.seq <= committedSeq) this.committedHead++;
    if (this.committedHead < TRIM_AFTER_ENTRIES || this.writing) return;
    // Runs in the writer's slot, so that no append lands in the file being replaced.
    this.writing = (async () => {
      try {
        this.live = this.live.slice(this.committedHead);
        this.committedHead = 0;
        await this.log.rewrite(this.live.map((l) => l.payload));
      } finally {
        this.writing = undefined;
      }
      if (this.waiting.length) this.writing ??= this.drain();
    })();
    await this.writing;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }
}

function parseEntry(text: string): WalEntry | undefined {
  try {
    const e = JSON.parse(text) as { s?: unknown; b?: unknown };
    if (!e || typeof e !== 'object' || !Number.isSafeInteger(e.s) || (e.s as number) < 1 || !('b' in e)) return undefined;
    return { seq: e.s as number, body: e.b };
  } catch {
    return undefined;
  }
}
