import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Logger } from '../logger.js';
import type { JsonValue } from '../util/json.js';
import { stateCorrupt } from './state-corrupt.js';
import { encodeKey } from './state-key-names.js';
import type { ComponentState, StagedWrite } from './state-store.js';

/**
 * First frame of every log in this format: `{"g":<generation>,"id":<identity>}`; the generation is
 * raised by each rewrite, the identity (random, made with the log's first generation) is kept by
 * rewrites. Logs written before the identity have none.
 */
const HEAD_MAGIC = 0x32484c50; // "PLH2"
/** Every block after it. */
const BLOCK_MAGIC = 0x32464c50; // "PLF2"
/** magic, payload length, CRC-32 of the payload (all u32 little-endian). */
const FRAME_HEAD_BYTES = 12;

/** Where a checked log stops making sense. */
export interface FrameProblem {
  /** Byte offset of the frame that does not check out. */
  readonly offset: number;
  readonly reason: string;
  /** The frame runs to (or past) the end of the data: what a write cut short leaves behind. */
  readonly last: boolean;
}

/** What a checked log holds up to its first frame that does not check out. */
export interface DecodedFrames {
  /** The generation its first frame names (undefined when even that frame is bad). */
  readonly generation: number | undefined;
  /** The identity its first frame names (undefined in logs written before it). */
  readonly id?: string | undefined;
  readonly payloads: Buffer[];
  /** Bytes up to the end of the last good frame. */
  readonly goodBytes: number;
  readonly problem?: FrameProblem;
}

function frame(magic: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEAD_BYTES);
  head.writeUInt32LE(magic, 0);
  head.writeUInt32LE(payload.length, 4);
  head.writeUInt32LE(crc32(payload), 8);
  return Buffer.concat([head, payload]);
}

/** Frames `payloads` as blocks; a log's first write leads with the head frame of `generation`. */
export function encodeFrames(payloads: readonly Uint8Array[], generation?: number, id?: string): Buffer {
  const parts = payloads.map((p) => frame(BLOCK_MAGIC, Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  if (generation !== undefined) parts.unshift(frame(HEAD_MAGIC, Buffer.from(JSON.stringify({ g: generation, id }))));
  return Buffer.concat(parts);
}

/** True when `data` is in this format (a log written before it starts otherwise). */
export function isFramed(data: Uint8Array): boolean {
  return data.byteLength >= 4 && Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32LE(0) === HEAD_MAGIC;
}

/** Decodes a checked log; stops at the first frame that is not whole with a matching checksum. */
export function decodeFrames(data: Uint8Array): DecodedFrames {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const payloads: Buffer[] = [];
  let generation: number | undefined;
  let id: string | undefined;
  let off = 0;
  const stop = (reason: string, last: boolean): DecodedFrames => ({ generation, id, payloads, goodBytes: off, problem: { offset: off, reason, last } });
  while (off < buf.length) {
    if (off + FRAME_HEAD_BYTES > buf.length) return stop('the block has no end (a write cut short)', true);
    const magic = buf.readUInt32LE(off);
    const want = off === 0 ? HEAD_MAGIC : BLOCK_MAGIC;
    const len = buf.readUInt32LE(off + 4);
    const end = off + FRAME_HEAD_BYTES + len;
    if (magic !== want) return stop(off === 0 ? 'it does not start with the head of a checked log' : 'no block starts here', isZeros(buf, off));
    if (end > buf.length) return stop('the block has no end (a write cut short)', true);
    const payload = buf.subarray(off + FRAME_HEAD_BYTES, end);
    if (crc32(payload) !== buf.readUInt32LE(off + 8)) return stop('its checksum does not match (the block was changed or damaged)', end === buf.length);
    if (off === 0) {
      const head = parseHeadFrame(payload);
      if (head === undefined) return stop('its head is not {"g":<generation>,"id":<identity>}', false);
      generation = head.g;
      id = head.id;
    } else {
      payloads.push(payload);
    }
    off = end;
  }
  return { generation, id, payloads, goodBytes: off };
}

function parseHeadFrame(payload: Buffer): { g: number; id: string | undefined } | undefined {
  try {
    const { g, id } = JSON.parse(payload.toString('utf8')) as { g?: unknown; id?: unknown };
    if (!Number.isSafeInteger(g) || (g as number) < 1 || (id !== undefined && typeof id !== 'string')) return undefined;
    return { g: g as number, id };
  } catch {
    return undefined;
  }
}

function isZeros(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * What the log's committed head says: its generation and how many of its bytes the last commit
 * covered. A type, not an interface, so that it is a JsonValue as it is (stored without a cast).
 */
type LogHead = {
  g: number;
  bytes: number;
  /** The log's identity (absent in heads stored before it, or for a log that has none yet). */
  id?: string;
};

/** What a checked log held at start. */
export type LoadedLog = { readonly format: 'checked'; readonly payloads: Buffer[] } | { readonly format: 'legacy'; readonly data: Buffer };

/**
 * An operator's append-only log in the state store, checked before it is trusted. Each block is
 * framed with its length and CRC-32; the first frame names the log's generation (raised by each
 * rewrite). Before each checkpoint commit the operator stores the log's head — the generation
 * and the bytes durable then — as a value of its state (`<key>.head`), so at start a log that is
 * shorter than committed, garbled inside its committed part, missing, or of another generation
 * stops the start with STATE_CORRUPT. Only a torn last block past the committed bytes (an append
 * cut short by a kill) is repaired. Under exactly-once the log commits in the sinks' transactions
 * (it cannot fall behind the checkpoints) and no head is kept; its blocks are still checked.
 *
 * Logs written before this format (no head frame) are read by the caller's old decoder once,
 * and rewritten in this format at once (see {@link load}).
 */
export class CheckedLog {
  readonly headKey: string;
  private generation = 0;
  /**
   * The log's identity, in its head frame and its committed head: a log of another pipeline, or
   * of the same pipeline id in another folder, is refused even when it is as long as committed.
   */
  private id: string | undefined;
  /** Bytes of the log durable (written, or staged) so far. */
  private bytes = 0;
  private stored: LogHead | undefined;

  constructor(
    private readonly state: ComponentState,
    readonly key: string,
    /** The component whose slice of state holds the log, for messages. */
    private readonly componentId: string,
    private readonly logger: Logger,
    /** Exactly-once: writes are staged on batches; no head is kept. */
    private readonly atomic = false,
  ) {
    this.headKey = `${key}.head`;
  }

  /** The log's file in the directory store (`pipelines/<id>/<component>~<key>.log`), named in errors. */
  get fileName(): string {
    return `${encodeKey(`${this.componentId}/${this.key}`)}.log`;
  }

  /**
   * Reads and checks the log against its committed head. A log in the format before this one
   * is returned whole (`legacy`): the caller decodes it as before and must {@link rewrite} it.
   */
  async load(): Promise<LoadedLog> {
    const data = Buffer.from(await this.state.readLog(this.key));
    const head = this.parseHead(await this.state.get(this.headKey));
    this.stored = head;
    if (data.length === 0) {
      if (head && head.bytes > 0) throw this.corrupt(`it is missing or empty, while the pipeline's committed state says ${head.bytes} bytes of it were durable at the last commit: it was deleted, or left out of a restore`);
      return { format: 'checked', payloads: [] };
    }
    if (!isFramed(data)) {
      if (head) throw this.corrupt('it is not in the checked format its committed head says it was written in: it was replaced or damaged at its start');
      this.logger.info({ file: this.fileName, bytes: data.length }, 'state: reading a log written before logs were checksummed; it is rewritten checksummed now');
      return { format: 'legacy', data };
    }
    const decoded = decodeFrames(data);
    const g = decoded.generation;
    if (g === undefined) {
      // The first append of all cut short: nothing of it can have been committed.
      if (!head && decoded.problem?.last) return this.repairTorn(data, decoded);
      throw this.corrupt(`its head frame: ${decoded.problem?.reason ?? 'missing'}`);
    }
    // A rewrite between the last head and a crash leaves the next generation, whole (it is atomic).
    if (head?.id !== undefined && decoded.id !== head.id) {
      throw this.corrupt(`it is not the log the pipeline's committed state names (its identity is ${decoded.id ?? 'none'}, the state's ${head.id}): it was copied from another pipeline, or from the same pipeline id in another folder`);
    }
    this.id = decoded.id;
    const sameGeneration = head !== undefined && g === head.g;
    if (head && !sameGeneration && g !== head.g + 1) {
      throw this.corrupt(`it is generation ${g}, but the pipeline's committed state names generation ${head.g}: it comes from another backup or another pipeline`);
    }
    const committed = sameGeneration ? head.bytes : 0;
    if (decoded.goodBytes < committed) {
      const at = decoded.problem ? `at byte ${decoded.problem.offset}: ${decoded.problem.reason}` : `it ends at byte ${decoded.goodBytes}`;
      throw this.corrupt(`${committed} bytes of it were committed, but only ${decoded.goodBytes} check out (${at}): it was cut, garbled, or restored from a backup older than the state`);
    }
    this.generation = g;
    this.bytes = decoded.goodBytes;
    if (decoded.problem) {
      if (!decoded.problem.last) throw this.corrupt(`at byte ${decoded.problem.offset}: ${decoded.problem.reason}, and blocks follow it: only a torn last block can come from a crash`);
      return this.repairTorn(data, decoded);
    }
    await this.forgetHeadIfAtomic();
    return { format: 'checked', payloads: decoded.payloads };
  }

  /** Drops a torn last block by rewriting the log as its good blocks (the next generation, with its head). */
  private async repairTorn(data: Buffer, decoded: DecodedFrames): Promise<LoadedLog> {
    this.logger.warn({ file: this.fileName, keptBytes: decoded.goodBytes, droppedBytes: data.length - decoded.goodBytes, reason: decoded.problem?.reason }, 'state: removed the last block of a log, cut short when the process writing it was killed');
    await this.rewrite(decoded.payloads);
    await this.forgetHeadIfAtomic();
    return { format: 'checked', payloads: decoded.payloads };
  }

  /**
   * Exactly-once keeps no head: one left by an earlier run without it would name a generation
   * that this run's rewrites pass, and stop a later start for nothing.
   */
  private async forgetHeadIfAtomic(): Promise<void> {
    if (!this.atomic || !this.stored) return;
    await this.state.set(this.headKey, null);
    this.stored = undefined;
  }

  /** `payloads` as bytes to append (led by the head frame when the log is empty); counted as written. */
  private encode(payloads: readonly Uint8Array[]): Buffer {
    const first = this.bytes === 0;
    if (first) this.nextGeneration();
    const data = encodeFrames(payloads, first ? this.generation : undefined, this.id);
    this.bytes += data.length;
    return data;
  }

  /** Appends `payloads`, one block each. Durable when it resolves. */
  async append(payloads: readonly Uint8Array[]): Promise<void> {
    if (payloads.length === 0) return;
    const before = { g: this.generation, bytes: this.bytes };
    const data = this.encode(payloads);
    try {
      await this.state.append(this.key, data);
    } catch (err) {
      this.generation = before.g;
      this.bytes = before.bytes;
      throw err;
    }
  }

  /** Exactly-once: `payloads` as an append to stage on a batch. */
  staged(payloads: readonly Uint8Array[]): StagedWrite {
    return { kind: 'append', key: this.key, data: this.encode(payloads) };
  }

  /** The log replaced by `payloads`, as the next generation; as a write to stage (exactly-once). */
  stagedRewrite(payloads: readonly Uint8Array[]): StagedWrite {
    this.nextGeneration();
    const data = encodeFrames(payloads, this.generation, this.id);
    this.bytes = data.length;
    return { kind: 'rewrite', key: this.key, data };
  }

  /** Replaces the log by `payloads` (atomically), as the next generation, and stores its head. */
  async rewrite(payloads: readonly Uint8Array[]): Promise<void> {
    const g = this.generation + 1;
    const id = this.id ?? newLogId();
    const data = encodeFrames(payloads, g, id);
    await this.state.rewriteLog(this.key, data);
    this.generation = g;
    this.id = id;
    this.bytes = data.length;
    await this.storeHead();
  }

  /** Raises the generation; a log without an identity (new, or written before identities) gets one. */
  private nextGeneration(): void {
    this.generation++;
    this.id ??= newLogId();
  }

  /** Bytes of the log as written so far (compaction's yardstick). */
  get size(): number {
    return this.bytes;
  }

  /**
   * Records how much of the log is durable: call it before each checkpoint commit, after the
   * appends that commit covers resolved. Exactly-once: nothing (the log commits with the checkpoints).
   */
  async storeHead(): Promise<void> {
    if (this.atomic) return;
    const next: LogHead = { g: this.generation, bytes: this.bytes, ...(this.id === undefined ? {} : { id: this.id }) };
    if (this.stored && this.stored.g === next.g && this.stored.bytes === next.bytes && this.stored.id === next.id) return;
    if (!this.stored && next.bytes === 0) return;
    await this.state.set(this.headKey, next);
    this.stored = next;
  }

  private parseHead(value: JsonValue | undefined): LogHead | undefined {
    if (value === undefined || value === null) return undefined;
    const v = value as Partial<LogHead>;
    if (typeof v !== 'object' || !Number.isSafeInteger(v.g) || !Number.isSafeInteger(v.bytes) || v.g! < 0 || v.bytes! < 0 || (v.id !== undefined && typeof v.id !== 'string')) {
      throw this.corrupt(`its committed head (the value ${this.componentId}/${this.headKey} in the pipeline's state) is not {"g":…,"bytes":…,"id":…}`);
    }
    return { g: v.g!, bytes: v.bytes!, ...(v.id === undefined ? {} : { id: v.id }) };
  }

  private corrupt(why: string): Error {
    return stateCorrupt(`${this.fileName} (log "${this.key}" of component ${this.componentId})`, why);
  }
}

/** A new log identity: 96 random bits, so two logs made anywhere do not share one. */
function newLogId(): string {
  return randomBytes(12).toString('base64url');
}
