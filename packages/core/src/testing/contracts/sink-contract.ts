import { describe, it } from 'vitest';
import type { CallEvent } from '../../event.js';
import type { SinkPlugin } from '../../plugin.js';
import { CallGenerator } from '../../sources/generate/call-generator.js';
import { testContext } from '../test-context.js';
import { checkFailsWithCode, checkNothingLeft, checkSchema, CLOSE_CONTRACT, ERROR_CODE_CONTRACT, watchResources, SCHEMA_CONTRACT, violated, type ContractCheck } from './contract-check.js';

/** Options of {@link sinkContract}: the plugin, configs to test it with, and how to read back what it wrote. */
export interface SinkContractOptions {
  plugin: SinkPlugin;
  /** A valid config; called once per check, so each can write to a fresh destination. */
  config(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * The ids of the events the sink made durable under `config`, read independently (the file from
   * disk, a consumer of the topic). Omit it only for sinks that store nothing (stdout, blackhole):
   * the durability checks are then skipped.
   */
  readBack?(config: Record<string, unknown>): Promise<string[]>;
  /** A config with which `create` or `write` fails (an unreachable destination), for the error contract. */
  failingConfig?(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Directory for relative paths in the config. */
  baseDir?: string;
}

/** See {@link SCHEMA_CONTRACT}. */
export const SINK_DURABILITY_CONTRACT = 'a write resolves only once its events are durable';

const events = (n: number, seed: number): CallEvent[] => {
  const g = new CallGenerator({ seed, startMs: Date.parse('2026-01-01T00:00:00Z'), spacingMs: 1000, duplicateRatio: 0, source: 'contract' });
  return Array.from({ length: n }, (_, i) => g.event(i));
};

/** The sink contracts as checks, to run by hand (e.g. to show that a broken sink fails them). */
export function sinkContractChecks(o: SinkContractOptions): ContractCheck[] {
  const create = async (config: Record<string, unknown>) => o.plugin.create(o.plugin.configSchema.parse(config), testContext({ id: 'sink', type: o.plugin.type, kind: 'sink', baseDir: o.baseDir }));
  const readBack = o.readBack;
  const checks: ContractCheck[] = [
    { name: SCHEMA_CONTRACT, run: async () => checkSchema(o.plugin.configSchema, await o.config()) },
  ];
  if (readBack)
    checks.push({
      name: SINK_DURABILITY_CONTRACT,
      run: async () => {
        const config = await o.config();
        const sink = await create(config);
        try {
          const first = events(100, 1);
          const second = events(100, 2);
          await sink.write({ events: first, positions: [{ source: 'contract', seq: 1 }] });
          let durable = new Set(await readBack(config));
          const missing1 = first.filter((e) => !durable.has(e.id));
          if (missing1.length) violated(SINK_DURABILITY_CONTRACT, `write resolved, but ${missing1.length} of its 100 events could not be read back (e.g. ${missing1[0]!.id})`);
          await sink.write({ events: second, positions: [{ source: 'contract', seq: 2 }] });
          durable = new Set(await readBack(config));
          const missing2 = second.filter((e) => !durable.has(e.id));
          if (missing2.length) violated(SINK_DURABILITY_CONTRACT, `the second write resolved, but ${missing2.length} of its events could not be read back`);
        } finally {
          await sink.close();
        }
      },
    });
  checks.push({
      name: CLOSE_CONTRACT,
      run: async () => {
        const config = await o.config();
        const watch = watchResources();
        const sink = await create(config);
        await sink.write({ events: events(10, 3), positions: [{ source: 'contract', seq: 1 }] });
        await sink.flush?.();
        await sink.close();
        await sink.close();
        await checkNothingLeft(watch, 'close');
        if (!readBack) return;
        const back = new Set(await readBack(config));
        if (!events(10, 3).every((e) => back.has(e.id))) violated(CLOSE_CONTRACT, 'events written before close were not all there after it');
      },
    });
  if (o.failingConfig)
    checks.push({
      name: ERROR_CODE_CONTRACT,
      run: async () => {
        let sink: Awaited<ReturnType<typeof create>> | undefined;
        await checkFailsWithCode('the failing sink', 'with the failing config, neither create nor write failed', async () => {
          try {
            sink = await create(await o.failingConfig!());
            await sink.write({ events: events(5, 4), positions: [{ source: 'contract', seq: 1 }] });
          } finally {
            await sink?.close().catch(() => {});
          }
        });
      },
    });
  return checks;
}

/**
 * Registers the sink contracts as vitest tests: strict documented schema, acknowledgement only
 * after durability (checked by reading back independently), idempotent close that leaves nothing
 * running, stable error codes.
 *
 * @example
 * sinkContract({ plugin: webhookSink, config: () => ({ url }), readBack: async () => server.receivedIds() });
 */
export function sinkContract(o: SinkContractOptions): void {
  describe(`sink contract: ${o.plugin.type}`, () => {
    for (const c of sinkContractChecks(o)) it(c.name, c.run);
  });
}
