import type { ComponentState } from '@plumline/core';

const WAL_KEY = 'wal';
/** Rewrite the log once this many committed entries sit at its head. */
const TRIM_AFTER_ENTRIES = 20_000;

export interface WalEntry {
  seq: number;
  body: unknown;
}

interface Waiting {
  line: string;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/**
 * The callback receiver's write-ahead log, kept in the state store. `append` resolves only once
 * the entry is fsynced; appends that arrive while a write is in progress are written together
 * (group commit: one fsync serves many callbacks).
 */
export class CallbackWal {
  private nextSeq = 1;
  private waiting: Waiting[] = [];
  private writing: Promise<void> | undefined;
  /** Entries in the log that the committed checkpoint may not cover yet, oldest first. */
  private live: { seq: number; line: string }[] = [];
  private committedHead = 0;

  constructor(private readonly state: ComponentState) {}

  /** Reads the log; returns the entries after `committedSeq` (to replay) and prepares to append after the last one. */
  async open(committedSeq: number): Promise<WalEntry[]> {
    const text = Buffer.from(await this.state.readLog(WAL_KEY)).toString('utf8');
    const replay: WalEntry[] = [];
    let maxSeq = committedSeq;
    for (const line of text.split('\n')) {
      if (!line) continue;
      let e: { s: number; b: unknown };
      try {
        e = JSON.parse(line) as { s: number; b: unknown };
      } catch {
        break; // a torn tail: the request was never answered 2xx
      }
      maxSeq = Math.max(maxSeq, e.s);
      if (e.s > committedSeq) {
        replay.push({ seq: e.s, body: e.b });
        this.live.push({ seq: e.s, line: line + '\n' });
      }
    }
    this.nextSeq = maxSeq + 1;
    // Start from a clean log: only what still needs delivering.
    await this.state.rewriteLog(WAL_KEY, Buffer.from(this.live.map((l) => l.line).join('')));
    return replay;
  }

  /** Stores `body` durably; resolves with its sequence number. */
  append(body: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ line: JSON.stringify(body), resolve, reject });
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length) {
        const group = this.waiting;
        this.waiting = [];
        const first = this.nextSeq;
        const lines = group.map((w, i) => `{"s":${first + i},"b":${w.line}}\n`);
        try {
          await this.state.append(WAL_KEY, Buffer.from(lines.join('')));
        } catch (err) {
          for (const w of group) w.reject(err);
          continue;
        }
        this.nextSeq += group.length;
        lines.forEach((line, i) => this.live.push({ seq: first + i, line }));
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
        await this.state.rewriteLog(WAL_KEY, Buffer.from(this.live.map((l) => l.line).join('')));
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
