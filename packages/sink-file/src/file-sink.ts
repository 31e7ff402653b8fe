import { mkdir, open, stat, truncate, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError, defineSink, eventJsonLine, isPlumlineError, PipelineError, StateError, unwritableAsJson, type BatchPosition, type CallEvent, type DeadLetter, type Sink, type SinkBatch, type SinkContext, type SinkWriteResult, type Timer } from '@plumline/core';
import { fsyncDir, writeAll } from '@plumline/core/util';
import { coveredSeqs, planRecovery, type FileRecovery, type IndexRecord, type SinkRecord } from './commit-index.js';
import { CommitIndexLog } from './commit-index-log.js';
import { DEFAULT_INDEX_COMPACT_RECORDS, fileSinkConfigSchema, type FileSinkConfig } from './file-sink-config.js';
import { movedOutput } from './output-location.js';
import { pathsCanMeet, renderedPathPatterns } from './path-overlap.js';
import { claimOutput, fixedPathInUse, type OutputClaim } from './output-owner.js';
import { compilePathTemplate, renderedPathProblem } from './path-template.js';
import { claimedByAnother, claimTemplateDir, foreignClaimOn, forgetAllRenderedFiles, forgetRenderedFiles, noteRenderedFile, templateDir, templateDirInUse, type TemplateClaim } from './template-owner.js';

/**
 * File-system errors no retry changes: the events whose path met one go to the dead letters and
 * the rest is written. Others (ENOSPC, EIO, EMFILE…) may pass: the batch is retried.
 */
export const PERMANENT_FS_ERRORS = new Set(['EISDIR', 'ENOTDIR', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'EROFS', 'EINVAL', 'ELOOP', 'EEXIST']);

/** Idle files are looked for at least this often (more often when idle_timeout is shorter). */
const SWEEP_INTERVAL_MAX_MS = 5_000;

interface OpenFile {
  file: string;
  path: string;
  part: number;
  size: number;
  openedAtMs: number;
  fh: FileHandle | undefined;
  /** Order of last use, for closing the least recently written handle first. */
  lastUsed: number;
  lastWriteMs: number;
}

interface Pending {
  batch: SinkBatch;
  /** The batch's bytes per rendered path, rendered when it arrived. */
  chunks: Map<string, Buffer>;
  /** The events behind each rendered path's chunk, to dead-letter them if the path cannot be written (a fixed path fails the sink instead). */
  eventsOf: Map<string, CallEvent[]>;
  /** Events that cannot be written as JSON. */
  dead: DeadLetter[];
  resolve: (result: SinkWriteResult) => void;
  reject: (err: unknown) => void;
}

/** `out/a.ndjson` part 2 → `out/a.2.ndjson`; gzip adds `.gz` unless the template already ends in it. */
function partFile(template: string, part: number, gzip: boolean): string {
  const path = gzip && template.endsWith('.gz') ? template.slice(0, -3) : template;
  let name = path;
  if (part > 0) {
    const ext = extname(path);
    name = ext ? join(dirname(path), `${basename(path, ext)}.${part}${ext}`) : `${path}.${part}`;
  }
  return resolve(gzip ? `${name}.gz` : name);
}

/**
 * The file sink. Writes NDJSON lines, fsyncs them, and records each write in a commit index
 * (in the state store) before acknowledging. Concurrent writes are grouped: one write and one
 * fsync per file and one index append serve every batch that arrived meanwhile.
 *
 * On start it replays the index against the committed checkpoints: files keep exactly the
 * writes those checkpoints cover, so after a crash at any point nothing acknowledged is lost
 * and nothing that will be read again is duplicated, and every file ends in a whole line.
 */
export class FileSink implements Sink {
  readonly maxInFlight = 64;
  private readonly pathOf: (e: CallEvent) => string | undefined;
  private readonly missingFieldOf: (e: CallEvent) => string | undefined;
  private readonly staticPath: boolean;
  private readonly files = new Map<string, OpenFile>();
  private readonly known = new Set<string>();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private indexRecords: SinkRecord[] = [];
  private readonly index: CommitIndexLog;
  private closed: Promise<void> | undefined;
  private useCounter = 0;
  /** Parts rotated away during the current group, closed once it is written. */
  private retired: OpenFile[] = [];
  /** Files written by the current group, with their size before it (for rollback). */
  private inGroup = new Map<OpenFile, number>();
  private readonly sweepIntervalMs: number;
  private nextSweepMs = 0;
  private sweepTimer: Timer | undefined;
  /** recover() went through: the index is this run's to write (at close too). */
  private recovered = false;

  constructor(
    private readonly config: FileSinkConfig,
    private readonly ctx: SinkContext,
    /** The claim on a fixed output path (output-owner.ts), released at close. */
    private readonly output?: OutputClaim,
    /** The claim on a path template's directory (template-owner.ts), released at close. */
    private readonly templateClaim?: TemplateClaim,
  ) {
    this.index = new CommitIndexLog(ctx.state, ctx.pipelineId, ctx.id);
    const t = compilePathTemplate(config.path, config.missing_field);
    this.pathOf = t.render;
    this.missingFieldOf = t.missingField;
    this.staticPath = t.isStatic;
    this.sweepIntervalMs = Math.max(100, Math.min(SWEEP_INTERVAL_MAX_MS, config.idle_timeout / 2));
  }

  /** Starts looking for idle files while no batch arrives (between batches the flush loop does). */
  startSweeping(): void {
    this.sweepTimer = this.ctx.clock.setInterval(() => {
      if (!this.closed) this.kick();
    }, this.sweepIntervalMs);
  }

  /**
   * Brings every file the index knows back to what the committed checkpoints cover, once the
   * index proved sound (commit-index-log.ts) and the files add up with it: nothing is removed
   * on evidence that could also mean committed output.
   */
  async recover(): Promise<void> {
    const isCommitted = (p: readonly BatchPosition[]): boolean => this.ctx.isCommitted(p);
    const loaded = await this.index.load((file) => this.ownsFile(file), isCommitted);
    if (loaded.from === 'none') await this.checkIndexNotLost();
    this.checkOutputNotMoved(loaded.records);
    const plan = planRecovery(loaded.records, isCommitted);
    const sizes = new Map<string, number>();
    for (const f of plan) sizes.set(f.file, await sizeOf(f.file));
    this.checkUnaccountedBytes(plan, sizes, loaded.records);
    // Before anything is cut: a file another sink of this pipeline holds is refused, not recovered.
    if (!this.staticPath) for (const f of plan) noteRenderedFile(f.file, this.ctx.pipelineId, this.ctx.id, this.config.path);
    const records: SinkRecord[] = [];
    let truncated = 0;
    const cut: { file: string; bytes: number }[] = [];
    for (const f of plan) {
      const size = sizes.get(f.file)!;
      if (size < 0) {
        if (f.length > 0) this.ctx.logger.error({ file: f.file, expectedBytes: f.length }, 'file in the commit index is missing; was it moved or deleted?');
        continue;
      }
      if (f.needsRewrite || size > f.length) await this.checkMayCut(f.file, size - f.length);
      if (f.needsRewrite) {
        await this.rewriteKeeping(f.file, f.keep);
        truncated += size - f.length;
        cut.push({ file: f.file, bytes: size - f.length });
      } else if (size !== f.length) {
        if (size < f.length) {
          throw new PipelineError('FILE_SINK_SHORT_FILE', `${f.file} holds ${size} bytes but ${f.length} were committed: it was changed outside plumline`, { fields: { file: f.file } });
        }
        await truncate(f.file, f.length);
        truncated += size - f.length;
        cut.push({ file: f.file, bytes: size - f.length });
      }
      records.push({ o: [f.file, f.length, f.path, f.part] });
      this.known.add(f.file);
      const cur = this.files.get(f.path);
      if (!cur || cur.part <= f.part) this.files.set(f.path, { file: f.file, path: f.path, part: f.part, size: f.length, openedAtMs: this.ctx.clock.now(), fh: undefined, lastUsed: 0, lastWriteMs: this.ctx.clock.now() });
    }
    // What the folded records covered: only committed writes (the others are read again).
    const committedWrites = loaded.records.filter((r) => 'b' in r && isCommitted(r.p.map(([source, seq]) => ({ source, seq }))));
    await this.index.rewrite(records, coveredSeqs(committedWrites));
    this.indexRecords = records;
    // The head names the rewritten index and the checkpoints as they are (the last run's final
    // commit may have taken them past what its head noted).
    await this.index.storeHead(this.committedSeqs(loaded.records));
    this.recovered = true;
    if (loaded.from === 'legacy') {
      await this.index.retireLegacy();
      this.ctx.logger.info({ index: this.index.key }, 'commit index moved from its name before version 2 to this pipeline\'s own');
    }
    // A warning, not an info line: after a kill these bytes are this sink's own uncommitted writes,
    // but bytes another writer appended (a second pipeline on the same templated path, a person)
    // are cut the same way, and whoever reads the log must be able to tell.
    if (truncated > 0) {
      this.ctx.logger.warn(
        { bytes: truncated, files: cut.slice(0, 10), filesCut: cut.length },
        `removed ${truncated} bytes past the committed end of ${cut.length} file(s) (${cut.slice(0, 3).map((c) => c.file).join(', ')}${cut.length > 3 ? ', …' : ''}): what an earlier run of this sink wrote without committing, written again now. Bytes anything else appended to these files are gone: a file sink's files must be its own (another pipeline on the same path template, or a program, must write elsewhere)`,
      );
    }
  }

  /**
   * Bytes past the end of the last record of a file are a crash between a write and its index
   * append (their batches were never acknowledged) — unless the committed checkpoints are newer
   * than the index: they reach past both what the index head says they covered when it was
   * written and every batch the index covers. Then the index lost records of
   * committed writes (restored from a backup older than the checkpoints) and those bytes may be
   * committed output. Refused, never removed.
   */
  private checkUnaccountedBytes(plan: readonly FileRecovery[], sizes: ReadonlyMap<string, number>, records: readonly SinkRecord[]): void {
    const beyond = plan.find((f) => sizes.get(f.file)! > f.coveredTo);
    if (!beyond) return;
    const covered = coveredSeqs(records);
    for (const [source, seq] of this.index.headerSeqs()) if (seq > (covered.get(source) ?? 0)) covered.set(source, seq);
    // Newer than both: an exactly-once sink commits checkpoints between the runtime's commits, so
    // they may pass the head's seqs without the index having lost anything it wrote.
    const baseline = new Map(covered);
    for (const [source, seq] of Object.entries(this.index.headSeqs() ?? {})) if (seq > (baseline.get(source) ?? 0)) baseline.set(source, seq);
    const newer = [...baseline].find(([source, seq]) => this.ctx.isCommitted([{ source, seq: seq + 1 }]));
    if (!newer) return;
    const [source, seq] = newer;
    const extra = sizes.get(beyond.file)! - beyond.coveredTo;
    throw new StateError(
      'STATE_CORRUPT',
      `file sink ${this.ctx.id}: ${beyond.file} holds ${extra} bytes after the last write its commit index (${this.index.key}) records, and the committed checkpoint of ${source} reaches past batch ${seq}, the last the index${this.index.headSeqs() ? ' or its head' : ''} accounts for: the checkpoints are newer than the index, which lost records of committed writes (state restored from a backup older than the checkpoints?). Nothing was removed. Restore state and output together from one backup (docs/operations.md), or move ${beyond.file} and this sink's index aside`,
      { retriable: false, fields: { component: this.ctx.id, file: beyond.file, index: this.index.key } },
    );
  }

  /**
   * The index names files by absolute path: state copied or moved with its working folder would
   * have this sink append to the original's files (output-location.ts). Refused before anything
   * is written or cut.
   */
  private checkOutputNotMoved(records: readonly IndexRecord[]): void {
    const files = records.flatMap((r) => ('o' in r ? [r.o[0]] : 'b' in r ? r.b.map(([file]) => file) : []));
    const fixedFile = this.staticPath ? partFile(this.pathOf({} as CallEvent)!, 0, this.config.gzip) : undefined;
    const moved = movedOutput(this.config.path, fixedFile, files);
    if (!moved) return;
    throw new StateError(
      'STATE_CORRUPT',
      `file sink ${this.ctx.id}: its state was written for output at ${moved.oldDir} and the pipeline now writes ${moved.newDir}: the state was copied or moved with its folder (the commit index ${this.index.key} names ${moved.file}). Nothing was written or cut. Run it where its state was written (move the folder back), or start this copy over with a fresh state directory (move its state directory aside): see docs/operations.md, "Moving or copying a pipeline's folder"`,
      { retriable: false, fields: { component: this.ctx.id, file: moved.file, index: this.index.key } },
    );
  }

  /** Per source the index knows, the last batch the committed checkpoints cover (isCommitted is monotonic in seq). */
  private committedSeqs(records: readonly SinkRecord[], sources = new Set([...coveredSeqs(records).keys(), ...this.index.headerSeqs().keys(), ...Object.keys(this.index.headSeqs() ?? {})])): Record<string, number> {
    const out: Record<string, number> = {};
    for (const source of sources) {
      const committed = (seq: number): boolean => this.ctx.isCommitted([{ source, seq }]);
      let lo = 0;
      let hi = Math.max(1, this.index.headSeqs()?.[source] ?? 1);
      while (committed(hi) && hi < Number.MAX_SAFE_INTEGER / 2) [lo, hi] = [hi, hi * 2];
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (committed(mid)) lo = mid;
        else hi = mid;
      }
      out[source] = lo;
    }
    return out;
  }

  /**
   * Recovery cuts only files no other pipeline claims: its index lists a file it wrote, but bytes
   * past its committed end may be another pipeline's committed output (a path template changed
   * between runs, claims deleted by hand). Refused, nothing cut.
   */
  private async checkMayCut(file: string, bytes: number): Promise<void> {
    const other = await foreignClaimOn(file, this.ctx.pipelineId, this.ctx.id);
    if (!other) return;
    throw claimedByAnother(this.ctx.id, this.ctx.pipelineId, file, other, { after: `Recovery would have cut ${bytes} bytes past what this sink committed there; nothing was cut` });
  }

  /** No index at all: fine for a new sink, not for one whose owner file says it wrote the output there. */
  private async checkIndexNotLost(): Promise<void> {
    const claim = this.output;
    if (!claim?.ownedBefore || (await sizeOf(claim.file)) <= 0) return;
    throw new StateError(
      'STATE_CORRUPT',
      `file sink ${this.ctx.id}: ${claim.file} has no commit index, but ${claim.ownerFile} says this sink wrote it: its index (${this.index.key}) and head were deleted or not restored. Nothing was removed. Restore state and output together from one backup (docs/operations.md); to keep the file as it is and append to it, delete ${claim.ownerFile}`,
      { retriable: false, fields: { component: this.ctx.id, file: claim.file, index: this.index.key } },
    );
  }

  /** A file this sink may have written: a part of its fixed path, or under the fixed directory its template starts with. */
  private ownsFile(file: string): boolean {
    const fixed = compilePathTemplate(this.config.path);
    if (fixed.isStatic) {
      const path = fixed.render({} as CallEvent)!;
      if (file === partFile(path, 0, this.config.gzip)) return true;
      const part = /\.(\d+)(?:\.[^./]*)?(?:\.gz)?$/.exec(file)?.[1];
      return part !== undefined && file === partFile(path, Number(part), this.config.gzip);
    }
    return file.startsWith(templateDir(this.config.path) + sep);
  }

  private async rewriteKeeping(file: string, keep: readonly [number, number][]): Promise<void> {
    const src = await open(file, 'r');
    const tmp = `${file}.recover-tmp`;
    const dst = await open(tmp, 'w');
    try {
      for (const [a, b] of keep) {
        const buf = Buffer.alloc(b - a);
        await src.read(buf, 0, b - a, a);
        await dst.write(buf);
      }
      await dst.sync();
    } finally {
      await src.close();
      await dst.close();
    }
    await rename(tmp, file);
    await fsyncDir(dirname(file));
  }

  write(batch: SinkBatch): Promise<SinkWriteResult> {
    return new Promise<SinkWriteResult>((resolve, reject) => {
      // Render now rather than when the group is written: the main thread then does this work
      // while the previous group's write and fsync are in flight, not after them.
      const { chunks, eventsOf, dead } = this.render(batch);
      this.queue.push({ batch, chunks, eventsOf, dead, resolve, reject });
      this.kick();
    });
  }

  /** Runs the flush loop unless it runs already. */
  private kick(): void {
    if (this.flushing) return;
    // Cleared in a callback, never synchronously: a loop with nothing to do ends before the
    // assignment would otherwise take place, leaving a settled promise that blocks every kick.
    // A batch queued between the loop's last look and this callback starts the next loop.
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    for (;;) {
      if (this.ctx.clock.now() >= this.nextSweepMs) await this.sweep();
      if (this.queue.length === 0) break;
      const group = this.queue;
      this.queue = [];
      try {
        await this.writeGroup(group);
        for (const p of group) p.resolve(p.dead.length ? { dead: p.dead } : {});
      } catch (err) {
        // System errors (ENOSPC, EIO…) may pass; anything else is not ours to call transient
        // (a plumline error, e.g. FILE_PATH_IN_USE, says itself whether it is).
        const error = !isPlumlineError(err) && typeof (err as { code?: unknown }).code === 'string' ? new PipelineError('FILE_WRITE_FAILED', `file sink ${this.ctx.id} could not write: ${(err as Error).message}`, { cause: err, retriable: true, fields: { component: this.ctx.id, errno: (err as { code: string }).code } }) : err;
        for (const p of group) p.reject(error);
      }
    }
  }

  /**
   * A batch's bytes per rendered path (compressed with gzip), and the events JSON cannot
   * represent (a BigInt or a cycle that an operator put there), which go to the dead letters.
   */
  private render(batch: SinkBatch): { chunks: Map<string, Buffer>; eventsOf: Map<string, CallEvent[]>; dead: DeadLetter[] } {
    const texts = new Map<string, string>();
    const eventsOf = new Map<string, CallEvent[]>();
    const dead: DeadLetter[] = [];
    let text = '';
    for (const e of batch.events) {
      let line: string;
      try {
        line = eventJsonLine(e, this.config.include_raw) + '\n';
      } catch (err) {
        dead.push(unwritableAsJson(e, err, 'FILE_ENCODING_FAILED'));
        continue;
      }
      if (this.staticPath) {
        text += line;
        continue;
      }
      let p: string | undefined;
      try {
        p = this.pathOf(e);
      } catch (err) {
        dead.push({ code: 'FILE_PATH_INVALID', reason: `the path template cannot be rendered for this event: ${(err as Error).message}`, record: e, context: { template: this.config.path } });
        continue;
      }
      if (p === undefined) {
        const field = this.missingFieldOf(e);
        dead.push({ code: 'FILE_TEMPLATE_FIELD_MISSING', reason: `the event lacks ${field}, a field of the path template "${this.config.path}": give it the field, or set missing_field`, record: e, context: { template: this.config.path, field } });
        continue;
      }
      const problem = renderedPathProblem(p);
      if (problem) {
        dead.push({ code: 'FILE_PATH_INVALID', reason: problem, record: e, context: { template: this.config.path } });
        continue;
      }
      texts.set(p, (texts.get(p) ?? '') + line);
      const list = eventsOf.get(p);
      if (list) list.push(e);
      else eventsOf.set(p, [e]);
    }
    if (this.staticPath && text) texts.set(this.pathOf(batch.events[0]!)!, text);
    const chunks = new Map<string, Buffer>();
    for (const [path, t] of texts) chunks.set(path, this.config.gzip ? gzipSync(t) : Buffer.from(t, 'utf8'));
    return { chunks, eventsOf, dead };
  }

  /** Picks the part a chunk of `bytes` goes to, rotating when the current one is full or old. */
  private async target(path: string, bytes: number, nowMs: number): Promise<OpenFile> {
    let f = this.files.get(path);
    if (!f) {
      f = await this.resume(path, nowMs);
      this.files.set(path, f);
    }
    const r = this.config.rotate;
    const full = r?.max_bytes !== undefined && f.size > 0 && f.size + bytes > r.max_bytes;
    const old = r?.interval !== undefined && f.size > 0 && nowMs - f.openedAtMs >= r.interval;
    if (full || old) {
      const next: OpenFile = { file: partFile(path, f.part + 1, this.config.gzip), path, part: f.part + 1, size: -1, openedAtMs: nowMs, fh: undefined, lastUsed: 0, lastWriteMs: nowMs };
      // The finished part may still have bytes queued in this group: close it after the group.
      this.retired.push(f);
      this.files.set(path, next);
      f = next;
    }
    return f;
  }

  /**
   * A path the sink holds nothing for (new, or forgotten while idle): writing continues at the
   * end of its last part on disk, so a path that renders again after a pause neither restarts at
   * part 0 nor overwrites anything.
   */
  private async resume(path: string, nowMs: number): Promise<OpenFile> {
    const gzip = this.config.gzip;
    let part = 0;
    let size = await sizeOf(partFile(path, 0, gzip));
    if (this.config.rotate) {
      for (let next = await sizeOf(partFile(path, 1, gzip)); next >= 0; next = await sizeOf(partFile(path, part + 1, gzip))) {
        part++;
        size = next;
      }
    }
    return { file: partFile(path, part, gzip), path, part, size, openedAtMs: nowMs, fh: undefined, lastUsed: 0, lastWriteMs: nowMs };
  }

  /** Closes files idle for idle_timeout and forgets those whose writes are all committed. */
  private async sweep(): Promise<void> {
    const nowMs = this.ctx.clock.now();
    this.nextSweepMs = nowMs + this.sweepIntervalMs;
    const idleBefore = nowMs - this.config.idle_timeout;
    let closed = 0;
    for (const f of this.files.values()) {
      if (!f.fh || f.lastWriteMs >= idleBefore) continue;
      const fh = f.fh;
      f.fh = undefined;
      await fh.close().catch(() => {});
      closed++;
    }
    if (closed > 0 || this.known.size > this.files.size) {
      try {
        await this.compactIndex(nowMs);
      } catch (err) {
        // The index stays as it was, correct but longer; the next sweep tries again.
        this.ctx.logger.warn({ err }, 'could not compact the file sink commit index');
      }
    }
  }

  private async ensureOpen(f: OpenFile, opens: SinkRecord[]): Promise<void> {
    if (f.fh) return;
    await mkdir(dirname(f.file), { recursive: true });
    const openCount = [...this.files.values()].filter((x) => x.fh).length;
    if (openCount >= this.config.max_open_files) {
      const lru = [...this.files.values()].filter((x) => x.fh && !this.inGroup.has(x)).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (lru) {
        const fh = lru.fh!;
        lru.fh = undefined;
        await fh.close();
      }
    }
    if (!this.staticPath && !this.known.has(f.file)) {
      // Another sink of this pipeline may render the same file (validate compares templates as written).
      noteRenderedFile(f.file, this.ctx.pipelineId, this.ctx.id, this.config.path);
      // A file new to this sink: another pipeline may have claimed it (or a directory above it)
      // since this sink's start checked the tree below its template's directory.
      const other = await foreignClaimOn(f.file, this.ctx.pipelineId, this.ctx.id);
      if (other) throw claimedByAnother(this.ctx.id, this.ctx.pipelineId, f.file, other);
    }
    f.fh = await open(f.file, 'a');
    const size = (await f.fh.stat()).size;
    if (!this.known.has(f.file) && !opens.some((r) => 'o' in r && r.o[0] === f.file)) {
      // Bytes already there are not ours: record them before we add any.
      opens.push({ o: [f.file, size, f.path, f.part] });
      await fsyncDir(dirname(f.file));
    }
    if (f.size < 0 || f.size !== size) f.size = size;
  }

  private async writeGroup(group: readonly Pending[]): Promise<void> {
    this.inGroup = new Map();
    try {
      await this.writeGroupOnce(group);
    } catch (err) {
      // Undo what this group wrote, so a retry of the same batches cannot duplicate lines.
      for (const [f, size] of this.inGroup) {
        if (size < 0) continue;
        f.size = size;
        await truncate(f.file, size).catch(() => {});
      }
      throw err;
    } finally {
      for (const f of this.retired) {
        const fh = f.fh;
        f.fh = undefined;
        await fh?.close().catch(() => {});
      }
      this.retired = [];
    }
  }

  private async writeGroupOnce(group: readonly Pending[]): Promise<void> {
    const nowMs = this.ctx.clock.now();
    const writes = new Map<OpenFile, Buffer[]>();
    const opens: SinkRecord[] = [];
    const records: SinkRecord[] = [];
    let bytes = 0;
    for (let i = 0; i < group.length; i++) {
      const segs: [string, number, number][] = [];
      for (const [path, data] of group[i]!.chunks) {
        const f = await this.target(path, data.length, nowMs);
        try {
          await this.ensureOpen(f, opens);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === undefined || !PERMANENT_FS_ERRORS.has(code)) throw err;
          // One fixed path that cannot be written stops the sink; a rendered one costs its events.
          if (this.staticPath) throw unwritablePath(f.file, code, err);
          this.unwritable(group[i]!, path, f, code, err);
          continue;
        }
        if (!this.inGroup.has(f)) this.inGroup.set(f, f.size);
        f.lastUsed = ++this.useCounter;
        f.lastWriteMs = nowMs;
        segs.push([f.file, f.size, f.size + data.length]);
        f.size += data.length;
        bytes += data.length;
        const list = writes.get(f) ?? [];
        list.push(data);
        writes.set(f, list);
      }
      records.push({ b: segs, p: group[i]!.batch.positions.map((p) => [p.source, p.seq]) });
    }
    if (opens.length) {
      await this.index.append(opens);
      this.indexRecords.push(...opens);
      // Known only once the index says so: a group that fails before this must record them again.
      for (const r of opens) if ('o' in r) this.known.add(r.o[0]);
    }
    await Promise.all(
      [...writes].map(async ([f, bufs]) => {
        const fh = f.fh!;
        // writev: one system call without first copying the group's buffers into one.
        await writeAll(fh, bufs);
        await fh.datasync();
      }),
    );
    await this.index.append(records);
    this.indexRecords.push(...records);
    this.ctx.telemetry.bytesOut(bytes);
    if (this.indexRecords.length > DEFAULT_INDEX_COMPACT_RECORDS) await this.compactIndex(nowMs);
  }

  /** Sends the events of `path` to the dead letters (their file cannot be opened for good) and forgets the file. */
  private unwritable(p: Pending, path: string, f: OpenFile, code: string, err: unknown): void {
    for (const e of p.eventsOf.get(path) ?? []) {
      p.dead.push({ code: 'FILE_PATH_UNWRITABLE', reason: `${code}: ${(err as Error).message}`, record: e, context: { file: f.file } });
    }
    if (this.files.get(path) === f) this.files.delete(path);
    this.ctx.logger.warn({ code: 'FILE_PATH_UNWRITABLE', errno: code, file: f.file, events: p.eventsOf.get(path)?.length ?? 0 }, 'cannot write to this file; its events go to the dead-letter output');
  }

  /**
   * Folds the longest committed prefix of writes of each file into its base length; records
   * after the first uncommitted write of a file stay listed (committed or not), in order.
   * A file closed and idle whose writes are all folded is forgotten: recovery has nothing to do
   * in it, and were its path to render again, it is found on disk (`resume`).
   */
  private async compactIndex(nowMs: number): Promise<void> {
    const base = new Map<string, { len: number; path: string; part: number }>();
    const blocked = new Set<string>();
    for (const r of this.indexRecords) {
      if ('o' in r) {
        if (!base.has(r.o[0])) base.set(r.o[0], { len: r.o[1], path: r.o[2], part: r.o[3] });
        continue;
      }
      const committed = this.ctx.isCommitted(r.p.map(([source, seq]) => ({ source, seq })));
      for (const [file, start, end] of r.b) {
        const b = base.get(file);
        if (!b || blocked.has(file) || !committed || start !== b.len) blocked.add(file);
        else b.len = end;
      }
    }
    const kept: SinkRecord[] = [];
    for (const r of this.indexRecords) {
      if ('o' in r) continue;
      const segs = r.b.filter(([file, , end]) => end > (base.get(file)?.len ?? 0));
      if (segs.length) kept.push({ b: segs, p: r.p });
    }
    const currentOf = new Map([...this.files.values()].map((f) => [f.file, f]));
    const pending = new Set(kept.flatMap((r) => ('b' in r ? r.b.map(([file]) => file) : [])));
    for (const file of base.keys()) {
      if (!pending.has(file) && this.isForgettable(file, currentOf.get(file), nowMs)) base.delete(file);
    }
    const records: SinkRecord[] = [...[...base].map(([file, b]): SinkRecord => ({ o: [file, b.len, b.path, b.part] })), ...kept];
    // The header keeps the batches the records before this rewrite covered: a restart can still tell a lost record.
    await this.index.rewrite(records, coveredSeqs(this.indexRecords));
    this.indexRecords = records;
    for (const file of this.known) {
      if (base.has(file)) continue;
      this.known.delete(file);
      forgetRenderedFiles(this.ctx.pipelineId, this.ctx.id, [file]);
      const f = currentOf.get(file);
      if (f && this.files.get(f.path) === f) this.files.delete(f.path);
    }
  }

  /** Not open, not written within idle_timeout, not a part rotated away by the group in progress. */
  private isForgettable(file: string, f: OpenFile | undefined, nowMs: number): boolean {
    if (f) return !f.fh && f.lastWriteMs < nowMs - this.config.idle_timeout;
    return !this.retired.some((r) => r.file === file);
  }

  /** Before each checkpoint commit: the index head names the last record durable now (commit-index-log.ts). */
  storeIndexHead(seqs: Readonly<Record<string, number>> | undefined): Promise<void> {
    return this.index.storeHead(seqs);
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  close(): Promise<void> {
    return (this.closed ??= (async () => {
      this.sweepTimer?.cancel();
      await this.flush();
      if (this.recovered) await this.noteLandedCommit();
      for (const f of this.files.values()) {
        const fh = f.fh;
        f.fh = undefined;
        await fh?.close().catch(() => {});
      }
      this.forgetRendered();
      await this.output?.release();
      await this.templateClaim?.release();
    })());
  }

  /**
   * After the final commit: notes in the index's header the last commit that landed, for the
   * sources this sink wrote batches of (commit-index-log.ts, checkLandedCommitted), marks it
   * written at a close, and stores the head naming its last record. state.log rolled back after
   * this clean close (by whole commits, or by this head alone) is then refused at the next start. A
   * failure is a warning: the store keeps its lock after a failed write, so the next start reads
   * this run as cut short and does not look for the note.
   */
  private async noteLandedCommit(): Promise<void> {
    const sources = new Set([...coveredSeqs(this.indexRecords).keys(), ...this.index.headerSeqs().keys(), ...this.index.landedSeqs().keys()]);
    const landed = Object.fromEntries(Object.entries(this.committedSeqs(this.indexRecords, sources)).filter(([, seq]) => seq > 0));
    try {
      await this.index.rewrite(this.indexRecords, new Map(), landed, true);
      // The rewrite numbered the records anew: the head names the last of them again, so that a
      // record cut off or torn after this close is still told (and a torn one restored).
      await this.index.storeHead(landed);
    } catch (err) {
      this.ctx.logger.warn({ err, index: this.index.key }, 'file sink: could not note the last commit in its index at close; the next start treats this run as cut short');
    }
  }

  /** Lets go of the rendered files this sink noted (template-owner.ts): at close, or when its start failed. */
  forgetRendered(): void {
    forgetAllRenderedFiles(this.ctx.pipelineId, this.ctx.id);
  }
}

function unwritablePath(file: string, code: string, cause: unknown): PipelineError {
  return new PipelineError('FILE_PATH_UNWRITABLE', `cannot write ${file} (${code}): ${(cause as Error).message}`, { cause, retriable: false, fields: { file, errno: code } });
}

/**
 * A fixed path is known at start: refuse a directory, and fail now on one that can never be
 * written (its directory cannot be made, no permission). The file itself is made only once
 * claimed (`touch`): a start refused leaves nothing behind.
 */
async function checkFixedPath(file: string, template: string, id: string, touch: boolean): Promise<void> {
  if (await stat(file).then((s) => s.isDirectory(), () => false)) {
    throw new ConfigError('CONFIG_FILE_PATH_IS_DIRECTORY', `sink ${id}: path ${file} is a directory: name a file in it, e.g. ${join(template, 'events.ndjson')}`, { fields: { component: id } });
  }
  try {
    if (touch) await (await open(file, 'a')).close();
    else await mkdir(dirname(file), { recursive: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== undefined && PERMANENT_FS_ERRORS.has(code)) throw unwritablePath(file, code, err);
    throw err;
  }
}

/**
 * `file`: NDJSON files with templated paths, rotation and optional gzip; crash-safe.
 *
 * ```yaml
 * sinks:
 *   archive:
 *     type: file
 *     inputs: [unique]
 *     path: "out/{{source}}/{{kind}}/%Y-%m-%d.ndjson"
 *     rotate: { max_bytes: 100MB, interval: 1h }
 *     gzip: true
 * ```
 */
export const fileSink = defineSink({
  type: 'file',
  description: 'Writes NDJSON files (templated paths, rotation, gzip); fsynced before acknowledgement and exact after a crash.',
  configSchema: fileSinkConfigSchema,
  // Its output and the index that recovers it are on this machine: no copies per task.
  localOutput: true,
  // What fails the start on this machine's disk, said first by validate, located: a fixed path
  // that is a directory, a directory of the path that is a file.
  async preflight(config, ctx) {
    if (ctx.env === undefined) return [];
    const fixed = compilePathTemplate(config.path);
    const file = fixed.isStatic ? partFile(fixed.render({} as CallEvent)!, 0, config.gzip) : undefined;
    const underFile = await fileAmongDirectories(file !== undefined ? dirname(file) : templateDir(config.path));
    if (underFile !== undefined) {
      return [{ code: 'CONFIG_FILE_PATH_UNDER_FILE', path: ['path'], message: `${underFile} is a file, so nothing can be written under it as path ${config.path} asks: name a directory that is one, or one that does not exist yet` }];
    }
    const isDirectory = file !== undefined && (await stat(file).then((s) => s.isDirectory(), () => false));
    if (isDirectory) return [{ code: 'CONFIG_FILE_PATH_IS_DIRECTORY', path: ['path'], message: `path ${file} is a directory: name a file in it, e.g. ${join(config.path, 'events.ndjson')}` }];
    // Claims of other pipelines (or sinks) on the path: the FILE_PATH_IN_USE the start would meet, read without claiming.
    if (ctx.pipelineId === undefined || ctx.componentId === undefined) return [];
    const inUse = file !== undefined ? await fixedPathInUse(file, ctx.pipelineId, ctx.componentId) : await templateDirInUse(config.path, ctx.pipelineId, ctx.componentId);
    return inUse ? [{ code: 'CONFIG_FILE_PATH_IN_USE', path: ['path'], message: `${inUse.message} (a start refuses this path: FILE_PATH_IN_USE)` }] : [];
  },
  // Two sinks of one pipeline whose paths can render one file: found at validate time, located at
  // the second. At run time a templated pair is refused only once both render the same file.
  conflicts(components) {
    const problems: { id: string; code: `CONFIG_${string}`; path: string[]; message: string }[] = [];
    const seen: { id: string; path: string; patterns: ReturnType<typeof renderedPathPatterns> }[] = [];
    for (const { id, config } of components) {
      // With rotate, the later parts (name.1.ndjson, …) are this sink's files too.
      const patterns = renderedPathPatterns(config.path, config.gzip, config.rotate !== undefined);
      const other = seen.find((s) => s.patterns.some((a) => patterns.some((b) => pathsCanMeet(a, b))));
      seen.push({ id, path: config.path, patterns });
      if (!other) continue;
      const fixed = compilePathTemplate(config.path);
      const what = fixed.isStatic ? `writes ${partFile(fixed.render({} as CallEvent)!, 0, config.gzip)} too` : other.path === config.path ? `writes ${config.path} too` : `(path "${other.path}") can write the same files as "${config.path}"`;
      problems.push({
        id,
        code: 'CONFIG_FILE_PATH_SHARED',
        path: ['path'],
        message: `sink "${other.id}" ${what}: each file sink recovers only its own bytes after a crash and would cut the other's; give each sink its own path, e.g. a fixed directory of its own ("out/${other.id}/…" and "out/${id}/…")`,
      });
    }
    return problems;
  },
  async create(config, ctx) {
    const fixed = compilePathTemplate(config.path);
    let claim: OutputClaim | undefined;
    let dirClaim: TemplateClaim | undefined;
    if (fixed.isStatic) {
      const file = partFile(fixed.render({} as CallEvent)!, 0, config.gzip);
      await checkFixedPath(file, config.path, ctx.id, false);
      claim = await claimOutput(file, ctx.pipelineId, ctx.id);
      await checkFixedPath(file, config.path, ctx.id, true).catch(async (err: unknown) => {
        await claim!.release();
        throw err;
      });
    } else {
      dirClaim = await claimTemplateDir(config.path, ctx.pipelineId, ctx.id).catch((err: unknown) => {
        const code = (err as { code?: string }).code;
        throw code !== undefined && PERMANENT_FS_ERRORS.has(code) ? unwritablePath(templateDir(config.path), code, err) : err;
      });
    }
    const sink = new FileSink(config, ctx, claim, dirClaim);
    try {
      await sink.recover();
    } catch (err) {
      sink.forgetRendered();
      await claim?.release();
      await dirClaim?.release();
      throw err;
    }
    ctx.onCommit((info) => sink.storeIndexHead(info.seqs));
    sink.startSweeping();
    return sink;
  },
});

/** Size of a file, or -1 when it cannot be read (absent, or an error the open will report). */
function sizeOf(file: string): Promise<number> {
  return stat(file).then((s) => s.size, () => -1);
}

/** The nearest existing entry at or above `dir` when it is not a directory (a file where a directory must be), else undefined. */
async function fileAmongDirectories(dir: string): Promise<string | undefined> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const found = await stat(d).catch(() => undefined);
    if (found) return found.isDirectory() ? undefined : d;
    if (dirname(d) === d) return undefined;
  }
}
