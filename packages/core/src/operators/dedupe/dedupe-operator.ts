import { z } from 'zod';
import { map } from 'rxjs';
import type { Batch } from '../../batch.js';
import type { CallEvent } from '../../event.js';
import { compileGetter, isFieldPath } from '../../expr/field-path.js';
import { defineOperator, type OperatorContext } from '../../plugin.js';
import type { BatchPosition, Receipt } from '../../receipt.js';
import { duration } from '../../schema.js';
import { hashKey } from './key-hash.js';
import { KeyTable } from './key-table.js';
import { CheckedLog } from '../../state/checked-log.js';
import { stateCorrupt } from '../../state/state-corrupt.js';
import { decodeKeyBlock, decodeKeyBlocks, encodeKeyBlocks, type KeyBlock } from './key-log.js';

export const DEFAULT_DEDUPE_TTL = '7d';
export const DEFAULT_DEDUPE_MAX_KEYS = 1_000_000;
export const DEDUPE_MAX_KEYS_LIMIT = 50_000_000;
const KEY_LOG = 'keys';
/** Compact the key log once it holds this much more than the live keys need. */
const COMPACT_SLACK_BYTES = 16 * 1024 * 1024;

export const dedupeConfigSchema = z.strictObject({
  key: z
    .array(z.string().refine(isFieldPath, 'expected a field path'))
    .min(1)
    .default(['id'])
    .describe('Fields whose values together identify an event. Default: [id].'),
  ttl: duration('How long a key is remembered after its event passed.', DEFAULT_DEDUPE_TTL),
  max_keys: z
    .int()
    .min(1)
    .max(DEDUPE_MAX_KEYS_LIMIT)
    .default(DEFAULT_DEDUPE_MAX_KEYS)
    .describe('Most keys kept; past it the oldest are forgotten first. About 25 bytes each.'),
  persist: z.boolean().default(true).describe('Keep keys in the state store so that a restart does not re-emit events already delivered.'),
  per_partition: z
    .boolean()
    .default(false)
    .describe('Behind a partitioned source (Kafka) whose records are not keyed by `key`: accept that each worker sees only the repeats within its own partitions. Without it such a pipeline is refused (CONFIG_NOT_CO_PARTITIONED).'),
});

export type DedupeConfig = z.output<typeof dedupeConfigSchema>;

/**
 * `dedupe`: drops events whose key was seen within `ttl`.
 *
 * A key is remembered from the moment its event passes, so a duplicate in flight is dropped;
 * it is persisted only when its batch is acknowledged by every sink, and it counts after a
 * restart only if the checkpoint covering that batch was committed. A batch that fails
 * releases its keys, so a re-read copy is never dropped as a duplicate of itself. Behind an
 * exactly-once sink the keys of a batch are staged on it and committed in its transaction,
 * with the checkpoint after it.
 *
 * ```yaml
 * unique:
 *   type: dedupe
 *   inputs: [parsed]
 *   key: [id]
 *   ttl: 7d
 *   max_keys: 10000000
 * ```
 */
export const dedupeOperator = defineOperator({
  type: 'dedupe',
  description: 'Drops events whose key (a list of fields) was already seen within a TTL; bounded memory, state survives restarts.',
  configSchema: dedupeConfigSchema,
  partitionKey: (config) => ({ fields: config.key, perPartition: config.per_partition, configKey: 'key' }),
  async create(config, ctx) {
    const deduper = new Deduper(config, ctx);
    if (config.persist) await deduper.load();
    // It keeps keys, never events: what it passes on is the next operator's alone when it was its.
    return { apply: map((b: Batch) => deduper.process(b)), handsOverEvents: true };
  },
});

class Deduper {
  private readonly table: KeyTable;
  private readonly keyOf: (e: CallEvent) => string;
  private readonly ttlSec: number;
  private readonly hash = new Uint32Array(2);
  /** Acknowledged keys not yet appended to the log. */
  private durable: KeyBlock[] = [];
  /** Appended, but their checkpoint may not be committed yet: kept for compaction. */
  private uncommitted: KeyBlock[] = [];
  /** Keys of batches still in flight (with the batches they came in), for compaction. */
  private readonly pending = new Map<Uint32Array, readonly BatchPosition[]>();
  /** The key log: one checked block per key block (see CheckedLog). */
  private readonly log: CheckedLog;

  constructor(
    private readonly config: DedupeConfig,
    private readonly ctx: OperatorContext,
  ) {
    this.table = new KeyTable(config.max_keys);
    this.ttlSec = Math.max(1, Math.round(config.ttl / 1000));
    const getters = config.key.map(compileGetter);
    if (getters.length === 1) {
      const g = getters[0]!;
      this.keyOf = (e) => {
        const v = g(e);
        return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
      };
    } else {
      this.keyOf = (e) => getters.map((g) => JSON.stringify(g(e) ?? null)).join('\u001f');
    }
    this.log = new CheckedLog(ctx.state, KEY_LOG, ctx.id, ctx.logger, ctx.atomicCommits);
    if (config.persist) ctx.onCommit(() => this.persist());
  }

  /** The key blocks the log holds, checked (a log from before checked logs: decoded as then). */
  private async readBlocks(): Promise<{ blocks: KeyBlock[]; legacy: boolean }> {
    const loaded = await this.log.load();
    if (loaded.format === 'legacy') return { blocks: decodeKeyBlocks(loaded.data), legacy: true };
    const blocks = loaded.payloads.map((p, i) => {
      const block = decodeKeyBlock(p);
      if (!block) throw stateCorrupt(this.log.fileName, `block ${i + 1} has a good checksum but is not a key block: it was not written by dedupe`);
      return block;
    });
    return { blocks, legacy: false };
  }

  async load(): Promise<void> {
    const { blocks, legacy } = await this.readBlocks();
    const nowSec = Math.floor(this.ctx.clock.now() / 1000);
    let skipped = 0;
    for (const block of blocks) {
      if (!this.ctx.isCommitted(block.positions)) {
        skipped += block.keys.length / 3;
        continue;
      }
      const k = block.keys;
      for (let i = 0; i < k.length; i += 3) if (k[i + 2]! > nowSec) this.table.add(k[i]!, k[i + 1]!, k[i + 2]!, nowSec);
    }
    this.ctx.logger.info({ keys: this.table.size, skippedUncommitted: skipped }, 'dedupe keys restored');
    this.ctx.telemetry.holding('keys', this.table.size);
    // A log from before checked logs is rewritten checked at once: from now on it is checked.
    if (legacy || skipped > 0 || this.log.size > this.table.size * 12 * 2 + COMPACT_SLACK_BYTES) await this.compact();
  }

  process(batch: Batch): Batch {
    const nowSec = Math.floor(this.ctx.clock.now() / 1000);
    const exp = nowSec + this.ttlSec;
    const events = batch.events;
    const out: CallEvent[] = [];
    const added: number[] = [];
    const h = this.hash;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      hashKey(this.keyOf(e), h);
      if (this.table.add(h[0]!, h[1]!, exp, nowSec)) {
        out.push(e);
        added.push(h[0]!, h[1]!);
      }
    }
    if (added.length > 0) this.track(batch.receipt, added, exp);
    this.ctx.telemetry.holding('keys', this.table.size);
    return out.length === events.length ? batch : { events: out, receipt: batch.receipt };
  }

  private track(receipt: Receipt, added: number[], exp: number): void {
    const keys = new Uint32Array((added.length / 2) * 3);
    for (let i = 0, j = 0; i < added.length; i += 2, j += 3) {
      keys[j] = added[i]!;
      keys[j + 1] = added[i + 1]!;
      keys[j + 2] = exp;
    }
    this.pending.set(keys, receipt.positions);
    const atomic = this.config.persist && this.ctx.atomicCommits;
    if (atomic) {
      this.ctx.stage(receipt, this.log.staged([encodeKeyBlocks([{ positions: receipt.positions, keys }])]));
    }
    receipt.onSettled((error) => {
      this.pending.delete(keys);
      if (error === undefined) {
        // Atomically committed with its checkpoint, or (a write that waited too long for the
        // rest of its source batch) committed ahead of it: compaction keeps its positions.
        if (atomic) this.uncommitted.push({ positions: receipt.positions, keys });
        else if (this.config.persist) this.durable.push({ positions: receipt.positions, keys });
      } else {
        for (let i = 0; i < keys.length; i += 3) this.table.delete(keys[i]!, keys[i + 1]!);
      }
    });
  }

  /**
   * Commit hook: append what became durable; compact when the log outgrew the live keys; then
   * record how much of the log the checkpoints about to be committed cover (its head).
   */
  private async persist(): Promise<void> {
    this.uncommitted = this.uncommitted.filter((b) => !this.ctx.isCommitted(b.positions));
    if (this.durable.length > 0) {
      const blocks = this.durable;
      this.durable = [];
      await this.log.append(blocks.map((b) => encodeKeyBlocks([b])));
      this.uncommitted.push(...blocks);
      if (this.log.size > this.table.size * 12 * 2 + COMPACT_SLACK_BYTES) await this.compact();
    }
    await this.log.storeHead();
  }

  /**
   * Rewrites the log as one block of committed keys plus the blocks whose checkpoint is not
   * committed yet (with their positions), leaving out keys of batches still in flight.
   */
  private async compact(): Promise<void> {
    const exclude = new Set<string>();
    for (const keys of this.pending.keys()) for (let i = 0; i < keys.length; i += 3) exclude.add(`${keys[i]}:${keys[i + 1]}`);
    for (const b of [...this.uncommitted, ...this.durable]) for (let i = 0; i < b.keys.length; i += 3) exclude.add(`${b.keys[i]}:${b.keys[i + 1]}`);
    const nowSec = Math.floor(this.ctx.clock.now() / 1000);
    const committed: number[] = [];
    this.table.forEach((hi, lo, exp) => {
      if (exclude.size === 0 || !exclude.has(`${hi}:${lo}`)) committed.push(hi, lo, exp);
    }, nowSec);
    // Staged keys of batches in flight may already be in a committed transaction the rewrite
    // would overwrite: keep them, under their batches' positions (a restart skips them unless
    // the checkpoint covers those batches).
    const inFlight: KeyBlock[] = this.ctx.atomicCommits ? [...this.pending].map(([keys, positions]) => ({ positions, keys })) : [];
    const blocks: KeyBlock[] = [{ positions: [] as BatchPosition[], keys: Uint32Array.from(committed) }, ...this.uncommitted, ...inFlight];
    await this.log.rewrite(blocks.map((b) => encodeKeyBlocks([b])));
    this.ctx.logger.debug({ keys: committed.length / 3, bytes: this.log.size }, 'dedupe key log compacted');
  }
}
