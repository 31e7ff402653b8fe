import { describe, it } from 'vitest';
import type { SourcePage, SourcePlugin } from '../../plugin.js';
import type { JsonValue } from '../../util/json.js';
import { MemoryStateStore } from '../../state/directory-state-store.js';
import type { StateStore } from '../../state/state-store.js';
import { testContext } from '../test-context.js';
import { checkFailsWithCode, checkNothingLeft, checkSchema, ERROR_CODE_CONTRACT, watchResources, SCHEMA_CONTRACT, violated, type ContractCheck } from './contract-check.js';

/** Options of {@link sourceContract}: the plugin, configs, and for a push source how to push records to it. */
export interface SourceContractOptions {
  plugin: SourcePlugin;
  /** A valid config of a bounded read (it runs with `once`) that yields at least two pages. */
  config(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** A config with which reading fails (bad credentials, nothing listening), for the error contract. */
  failingConfig?(): Record<string, unknown> | Promise<Record<string, unknown>>;
  baseDir?: string;
  /** Pages read at most (endless sources). Default 1,000. */
  maxPages?: number;
  /**
   * The source re-reads some records before its checkpoint on purpose (an overlap that catches
   * late writes; dedupe removes the repeats): only losses are then a violation, not repeats.
   */
  resumeMayRepeat?: boolean;
  /** False for sources that cannot resume by nature (stdin): the resume check is skipped. */
  resumable?: boolean;
  /** False when the source cannot be read in a test worker at all (stdin): the stop check is skipped. */
  stopCheck?: boolean;
  /**
   * For a push source (it receives records instead of fetching them, e.g. a webhook receiver):
   * sends `count` distinct records to the source created from `config`, resolving once the
   * source accepted them. The resume check then reads until that many events came, and creates
   * the source again on the same state with a checkpoint committed: what it accepted after that
   * checkpoint must come again, and nothing before it.
   */
  push?(config: Record<string, unknown>, count: number): Promise<void>;
}

/** Records pushed by the resume check of a push source. */
const PUSHED_RECORDS = 6;
/** How long a push source may take to yield what it accepted. */
const PUSH_WAIT_MS = 5_000;

/** See {@link SCHEMA_CONTRACT}. */
export const SOURCE_RESUME_CONTRACT = 'reading from a checkpoint yields what followed it, none of what came before';
/** See {@link SCHEMA_CONTRACT}. */
export const SOURCE_STOP_CONTRACT = 'it stops when the runtime stops pulling, and close leaves nothing running';

/** The source contracts as checks, to run by hand. */
export function sourceContractChecks(o: SourceContractOptions): ContractCheck[] {
  const context = (state?: StateStore, committed?: JsonValue) => testContext({ id: 'source', type: o.plugin.type, kind: 'source', baseDir: o.baseDir, state, committedPosition: () => committed });
  const create = async (config: Record<string, unknown>) => o.plugin.create(o.plugin.configSchema.parse(config), context());
  const readAll = async (config: Record<string, unknown>, from: unknown): Promise<SourcePage[]> => {
    const source = await create(config);
    const pages: SourcePage[] = [];
    try {
      for await (const page of source.read(from)) {
        pages.push(page);
        if (pages.length >= (o.maxPages ?? 1000)) break;
      }
    } finally {
      await source.close?.();
    }
    return pages;
  };
  /**
   * Creates the push source on `state` (with `committed` as its committed checkpoint), pushes
   * `push` records, and reads until `want` events came or they stop coming.
   */
  const readPushed = async (config: Record<string, unknown>, state: StateStore, committed: unknown, push: number, want: number): Promise<SourcePage[]> => {
    const ctx = context(state, committed as JsonValue | undefined);
    const source = await o.plugin.create(o.plugin.configSchema.parse(config), ctx);
    const pages: SourcePage[] = [];
    const it = source.read(committed)[Symbol.asyncIterator]();
    try {
      const pushed = push > 0 ? o.push!(config, push) : Promise.resolve();
      let got = 0;
      while (got < want) {
        let timer: NodeJS.Timeout | undefined;
        const next = await Promise.race([it.next(), new Promise<'late'>((r) => (timer = setTimeout(r, PUSH_WAIT_MS, 'late')))]);
        clearTimeout(timer);
        if (next === 'late' || next.done) break;
        pages.push(next.value);
        got += next.value.events.length;
      }
      await pushed;
    } finally {
      ctx.abort();
      await it.return?.();
      await source.close?.();
    }
    return pages;
  };
  const checks: ContractCheck[] = [{ name: SCHEMA_CONTRACT, run: async () => checkSchema(o.plugin.configSchema, await o.config()) }];
  if (o.push && o.resumable !== false)
    checks.push({
      name: SOURCE_RESUME_CONTRACT,
      run: async () => {
        const config = await o.config();
        const state = new MemoryStateStore();
        const pages = await readPushed(config, state, undefined, PUSHED_RECORDS, PUSHED_RECORDS);
        const ids = pages.flatMap((p) => p.events.map((e) => e.id));
        if (ids.length < PUSHED_RECORDS) violated(SOURCE_RESUME_CONTRACT, `${PUSHED_RECORDS} records were pushed and accepted, ${ids.length} events came`);
        // The checkpoint of the page that ends nearest the middle, with events after it.
        const ends = pages.map((p, i) => (p.checkpoint !== undefined && i < pages.length - 1 ? i : -1)).filter((i) => i >= 0);
        const k = ends.length ? ends[Math.floor(ends.length / 2)]! : -1;
        const checkpoint = k >= 0 ? pages[k]!.checkpoint : undefined;
        const before = new Set(pages.slice(0, k + 1).flatMap((p) => p.events.map((e) => e.id)));
        const after = pages.slice(k + 1).flatMap((p) => p.events.map((e) => e.id));
        // Created again on the same state, nothing pushed: what was accepted after the checkpoint
        // comes again (a replay of everything would yield the earlier events first).
        const resumed = (await readPushed(config, state, checkpoint, 0, after.length)).flatMap((p) => p.events.map((e) => e.id));
        const repeated = resumed.filter((id) => before.has(id));
        if (repeated.length && !o.resumeMayRepeat) violated(SOURCE_RESUME_CONTRACT, `restarted with page ${k + 1}'s checkpoint committed, it yielded ${repeated.length} events from before it again (e.g. ${repeated[0]})`);
        const lost = after.filter((id) => !resumed.includes(id));
        if (lost.length) violated(SOURCE_RESUME_CONTRACT, `restarted with ${k < 0 ? 'no checkpoint' : `page ${k + 1}'s checkpoint`} committed, ${lost.length} accepted events after it did not come again (e.g. ${lost[0]})`);
      },
    });
  else if (o.resumable !== false)
    checks.push({
      name: SOURCE_RESUME_CONTRACT,
      run: async () => {
        const config = await o.config();
        const pages = await readAll(config, undefined);
        // Resume from the checkpoint nearest the middle that still has events after it.
        const candidates = pages.map((p, i) => (p.checkpoint !== undefined && pages.slice(i + 1).some((q) => q.events.length) ? i : -1)).filter((i) => i >= 0);
        if (candidates.length === 0) violated(SOURCE_RESUME_CONTRACT, `the config must yield a checkpoint with events after it to check a resume; it yielded ${pages.length} pages, ${pages.filter((p) => p.checkpoint !== undefined).length} with a checkpoint`);
        const k = candidates[Math.floor(candidates.length / 2)]!;
        const checkpoint = pages[k]!.checkpoint;
        const before = new Set(pages.slice(0, k + 1).flatMap((p) => p.events.map((e) => e.id)));
        const after = pages.slice(k + 1).flatMap((p) => p.events.map((e) => e.id));
        const resumed = (await readAll(config, checkpoint)).flatMap((p) => p.events.map((e) => e.id));
        const repeated = resumed.filter((id) => before.has(id));
        if (repeated.length && !o.resumeMayRepeat) violated(SOURCE_RESUME_CONTRACT, `resumed from page ${k + 1}'s checkpoint, it yielded ${repeated.length} events from before it again (e.g. ${repeated[0]})`);
        // A live source may have more by now: what followed must come first, in order.
        const head = resumed.slice(0, after.length);
        const lost = after.filter((id) => !head.includes(id));
        if (lost.length) violated(SOURCE_RESUME_CONTRACT, `resumed from page ${k + 1}'s checkpoint, ${lost.length} events that followed it did not come (e.g. ${lost[0]})`);
      },
    });
  if (o.stopCheck !== false)
    checks.push({
      name: SOURCE_STOP_CONTRACT,
      run: async () => {
        const config = await o.config();
        const watch = watchResources();
        const ctx = testContext({ id: 'source', type: o.plugin.type, kind: 'source', baseDir: o.baseDir });
        const source = await o.plugin.create(o.plugin.configSchema.parse(config), ctx);
        const it = source.read(undefined)[Symbol.asyncIterator]();
        const first = it.next();
        if (o.push) await o.push(config, 1);
        await first;
        // What the runtime does when the pipeline stops.
        ctx.abort();
        await it.return?.();
        await source.close?.();
        await source.close?.();
        await checkNothingLeft(watch, 'return() and close');
      },
    });
  if (o.failingConfig)
    checks.push({
      name: ERROR_CODE_CONTRACT,
      run: async () => {
        await checkFailsWithCode('the failing source', 'with the failing config, reading did not fail', async () => {
          await readAll(await o.failingConfig!(), undefined);
        });
      },
    });
  return checks;
}

/**
 * Registers the source contracts as vitest tests: strict documented schema, exact resume from
 * a checkpoint, stopping when the runtime stops pulling with nothing left running, stable error codes.
 *
 * @example
 * sourceContract({ plugin: mySource, config: () => ({ url, page_size: 10 }) });
 */
export function sourceContract(o: SourceContractOptions): void {
  describe(`source contract: ${o.plugin.type}`, () => {
    for (const c of sourceContractChecks(o)) it(c.name, c.run);
  });
}
