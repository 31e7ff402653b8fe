import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { describe, it } from 'vitest';
import type { Batch } from '../../batch.js';
import type { CallEvent } from '../../event.js';
import type { OperatorPlugin } from '../../plugin.js';
import type { BatchPosition, Receipt } from '../../receipt.js';
import type { StagedWrite } from '../../state/state-store.js';
import { CallGenerator } from '../../sources/generate/call-generator.js';
import { testContext } from '../test-context.js';
import { checkNothingLeft, checkSchema, CLOSE_CONTRACT, watchResources, SCHEMA_CONTRACT, violated, type ContractCheck } from './contract-check.js';

/** Options of {@link operatorContract}: the plugin and configs to test it with. */
export interface OperatorContractOptions {
  plugin: OperatorPlugin;
  /** A valid config. */
  config(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Input events (default: 300 generated calls, sessions and errors). */
  events?(): CallEvent[];
  baseDir?: string;
}

/** See {@link SCHEMA_CONTRACT}. */
export const RECEIPT_CONTRACT = 'it passes every receipt on exactly once, or releases it';
/** See {@link SCHEMA_CONTRACT}. */
export const IMMUTABLE_CONTRACT = 'it never changes the events it is given';
/** See {@link SCHEMA_CONTRACT}. */
export const RX_CONTRACT = 'it completes on empty input, passes errors on, and stops after unsubscribe';

/** A receipt that counts what is done with it. */
class CountingReceipt implements Receipt {
  readonly positions: readonly BatchPosition[];
  refs = 1;
  settled = 0;
  failed: unknown[] = [];
  overReleased = 0;
  private listeners: ((e?: unknown) => void)[] = [];
  constructor(seq: number) {
    this.positions = [{ source: 'contract', seq }];
  }
  retain(count = 1): void {
    this.refs += count;
  }
  release(): void {
    if (this.refs <= 0) {
      this.overReleased++;
      return;
    }
    if (--this.refs === 0) this.settle();
  }
  fail(error: unknown): void {
    this.failed.push(error);
    this.settle(error);
  }
  onSettled(listener: (e?: unknown) => void): void {
    if (this.settled) listener(this.failed[0]);
    else this.listeners.push(listener);
  }
  readonly staged: StagedWrite[] = [];
  stage(write: StagedWrite): void {
    this.staged.push(write);
  }
  private settle(error?: unknown): void {
    this.settled++;
    for (const l of this.listeners.splice(0)) l(error);
  }
}

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
};

const defaultEvents = (): CallEvent[] => {
  const g = new CallGenerator({ seed: 5, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0.1, source: 'contract' });
  return Array.from({ length: 300 }, (_, i) => g.event(i));
};

/** The operator contracts as checks, to run by hand. */
export function operatorContractChecks(o: OperatorContractOptions): ContractCheck[] {
  const create = async () => {
    const ctx = testContext({ id: 'op', type: o.plugin.type, kind: 'transform', baseDir: o.baseDir });
    const op = await o.plugin.create(o.plugin.configSchema.parse(await o.config()), ctx);
    return { op, ctx };
  };
  const batchesOf = (events: CallEvent[], receipts: CountingReceipt[]): Batch[] => {
    const out: Batch[] = [];
    for (let i = 0; i < events.length; i += 50) {
      const r = new CountingReceipt(out.length + 1);
      receipts.push(r);
      out.push({ events: events.slice(i, i + 50), receipt: r });
    }
    return out;
  };
  return [
    { name: SCHEMA_CONTRACT, run: async () => checkSchema(o.plugin.configSchema, await o.config()) },
    {
      name: RECEIPT_CONTRACT,
      run: async () => {
        const { op, ctx } = await create();
        const receipts: CountingReceipt[] = [];
        const outputs = await lastValueFrom(from(batchesOf((o.events ?? defaultEvents)(), receipts)).pipe(op.apply, toArray()));
        // What sinks do: release each output batch once they are done with it.
        // Holds only end as outputs are delivered: any the operator took are still there now.
        const heldAny = ctx.holds.size > 0;
        for (const b of outputs) b.receipt.release();
        for (const hook of ctx.commitHooks) await hook({ final: true });
        await op.close?.();
        if (heldAny && !op.holdsEvents) violated(RECEIPT_CONTRACT, 'the operator took checkpoint holds but does not declare holdsEvents: exactly-once sinks would pass its holds');
        if (ctx.holds.size) violated(RECEIPT_CONTRACT, `${ctx.holds.size} checkpoint holds were never released after every output was delivered and the final commit ran: the checkpoint could never pass them`);
        const unsettled = receipts.filter((r) => r.settled === 0);
        if (unsettled.length) violated(RECEIPT_CONTRACT, `${unsettled.length} of ${receipts.length} input receipts were never released (batch ${unsettled[0]!.positions[0]!.seq}): the checkpoint could never pass them`);
        const twice = receipts.filter((r) => r.settled > 1 || r.overReleased > 0);
        if (twice.length) violated(RECEIPT_CONTRACT, `${twice.length} receipts were released more often than retained (batch ${twice[0]!.positions[0]!.seq})`);
        const failed = receipts.filter((r) => r.failed.length);
        if (failed.length) violated(RECEIPT_CONTRACT, `${failed.length} receipts were failed on valid input (${String((failed[0]!.failed[0] as Error)?.message ?? failed[0]!.failed[0])})`);
      },
    },
    {
      name: IMMUTABLE_CONTRACT,
      run: async () => {
        const { op } = await create();
        const input = (o.events ?? defaultEvents)();
        const snapshot = JSON.stringify(input);
        deepFreeze(input);
        const MUTATION = /read.only|not extensible|Cannot assign|Cannot add property|Cannot delete|frozen/i;
        let outputs: Batch[];
        try {
          outputs = await lastValueFrom(from(batchesOf(input, [])).pipe(op.apply, toArray()));
        } catch (err) {
          if (MUTATION.test(String((err as Error)?.message))) violated(IMMUTABLE_CONTRACT, `it tried to change an input event (${(err as Error).message}); copy events instead`);
          throw err;
        } finally {
          await op.close?.();
        }
        const mutation = outputs.flatMap((b) => b.dead ?? []).find((d) => MUTATION.test(d.reason));
        if (mutation) violated(IMMUTABLE_CONTRACT, `it tried to change an input event (${mutation.reason}); copy events instead`);
        if (JSON.stringify(input) !== snapshot) violated(IMMUTABLE_CONTRACT, 'an input event changed');
      },
    },
    {
      name: RX_CONTRACT,
      run: async () => {
        const empty = await create();
        const none = await lastValueFrom(from([] as Batch[]).pipe(empty.op.apply, toArray()));
        if (none.some((b) => b.events.length > 0)) violated(RX_CONTRACT, 'it emitted events for an empty input');
        await empty.op.close?.();
        const failing = await create();
        const upstream = new Subject<Batch>();
        let passed: unknown;
        failing.op.apply(upstream).subscribe({ error: (e) => (passed = e) });
        const boom = new Error('upstream failure');
        upstream.error(boom);
        if (passed !== boom) violated(RX_CONTRACT, 'an upstream error was not passed on as is');
        await failing.op.close?.();
        const live = await create();
        const input = new Subject<Batch>();
        let seen = 0;
        const sub = live.op.apply(input).subscribe(() => seen++);
        const [b1, b2] = batchesOf((o.events ?? defaultEvents)().slice(0, 100), []);
        input.next(b1!);
        sub.unsubscribe();
        const after = seen;
        input.next(b2!);
        await new Promise((r) => setTimeout(r, 20));
        if (seen !== after) violated(RX_CONTRACT, 'it kept emitting after unsubscribe');
        await live.op.close?.();
      },
    },
    {
      name: CLOSE_CONTRACT,
      run: async () => {
        const watch = watchResources();
        const { op } = await create();
        await lastValueFrom(from(batchesOf((o.events ?? defaultEvents)().slice(0, 100), [])).pipe(op.apply, toArray()));
        await op.close?.();
        await op.close?.();
        await checkNothingLeft(watch, 'close');
      },
    },
  ];
}

/**
 * Registers the operator contracts as vitest tests: strict documented schema, every receipt
 * passed on exactly once, inputs never changed, the RxJS edge cases (empty, error, unsubscribe,
 * a synchronous source), idempotent close that leaves nothing running.
 *
 * @example
 * operatorContract({ plugin: myOperator, config: () => ({ field: 'to' }) });
 */
export function operatorContract(o: OperatorContractOptions): void {
  describe(`operator contract: ${o.plugin.type}`, () => {
    for (const c of operatorContractChecks(o)) it(c.name, c.run);
  });
}
