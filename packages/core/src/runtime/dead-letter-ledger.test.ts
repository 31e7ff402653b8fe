import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigErrors, corePlugins, createLogger, createPipeline, defineOperator, mapEvents, PipelineError, PluginRegistry, z, type DeadLetter } from '../index.js';
import { FakeClock, MemoryStateStore } from '../testing/index.js';
import { DEAD_LETTER_WARN_INTERVAL_MS, DeadLetterLedger } from './dead-letter-ledger.js';

/** A logger whose JSON lines land in `lines`. */
function capture(): { lines: () => Record<string, unknown>[]; text: () => string; logger: ReturnType<typeof createLogger> } {
  const raw: string[] = [];
  const logger = createLogger({ level: 'info', pretty: false, destination: new Writable({ write(c, _e, cb) { raw.push(String(c)); cb(); } }) });
  return { lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => raw.join(''), logger };
}

const dead = (code: string, n: number, record: unknown = { id: 'e1', source: 'gen', kind: 'call', time: '2026-01-01T00:00:00.000Z', attributes: { secretish: 'x'.repeat(400) } }): DeadLetter[] =>
  Array.from({ length: n }, () => ({ code, reason: `refused (${code})`, record }));

describe('DeadLetterLedger: every dead letter is counted and someone is told', () => {
  it('warns at the first of each code per component, then at most once per interval with the count since and the total, and at the end what was held back', async () => {
    const clock = new FakeClock(0);
    const { lines, logger } = capture();
    const ledger = new DeadLetterLedger(logger, { destination: 'the dead-letter file dl.ndjson', now: clock.now });
    ledger.record('kafka', dead('KAFKA_TEMPLATE_FIELD_MISSING', 3));
    ledger.record('kafka', dead('KAFKA_TEMPLATE_FIELD_MISSING', 5));
    await clock.advance(DEAD_LETTER_WARN_INTERVAL_MS - 1);
    ledger.record('kafka', dead('KAFKA_TEMPLATE_FIELD_MISSING', 1));
    ledger.record('parse', dead('PARSE_FAILED', 2, 'a malformed line'));
    expect(lines().map((l) => [l.level, l.component, l.code, l.count, l.total])).toEqual([
      [40, 'kafka', 'KAFKA_TEMPLATE_FIELD_MISSING', 3, 3],
      [40, 'parse', 'PARSE_FAILED', 2, 2],
    ]);
    await clock.advance(1);
    ledger.record('kafka', dead('KAFKA_TEMPLATE_FIELD_MISSING', 2));
    expect(lines().slice(2).map((l) => [l.component, l.code, l.count, l.total])).toEqual([['kafka', 'KAFKA_TEMPLATE_FIELD_MISSING', 8, 11]]);
    ledger.record('kafka', dead('KAFKA_TEMPLATE_FIELD_MISSING', 4));
    ledger.finish();
    expect(lines().slice(3).map((l) => [l.level, l.component, l.code, l.count, l.total, l.to])).toEqual([[40, 'kafka', 'KAFKA_TEMPLATE_FIELD_MISSING', 4, 15, 'the dead-letter file dl.ndjson']]);
    expect(ledger.totals()).toEqual({ count: 17, byCode: { KAFKA_TEMPLATE_FIELD_MISSING: 15, PARSE_FAILED: 2 }, byComponent: { kafka: 15, parse: 2 } });
  });

  it('gives one example: the reason and the record as a short excerpt (an event by its id), never the whole record', () => {
    const { lines, text, logger } = capture();
    const ledger = new DeadLetterLedger(logger, { destination: 'sink rejects' });
    ledger.record('kafka', dead('KAFKA_RECORD_TOO_LARGE', 1));
    ledger.record('parse', dead('PARSE_FAILED', 1, `300024;026;${'9'.repeat(500)}`));
    expect(lines()[0]).toMatchObject({ example: { reason: 'refused (KAFKA_RECORD_TOO_LARGE)', record: 'event e1 (gen call)' }, to: 'sink rejects' });
    const excerpt = (lines()[1]!.example as { record: string }).record;
    expect(excerpt.startsWith('300024;026;999')).toBe(true);
    expect(excerpt.length).toBeLessThanOrEqual(81);
    expect(text()).not.toContain('x'.repeat(100));
    expect(text()).not.toContain('9'.repeat(100));
  });

  it('keeps a bounded number of counters however many codes a plugin makes up', () => {
    const ledger = new DeadLetterLedger(createLogger({ level: 'silent' }));
    for (let i = 0; i < 5_000; i++) ledger.record('c', dead(`CODE_${i}`, 1));
    expect(ledger.totals().count).toBe(5_000);
    expect(Object.keys(ledger.totals().byCode).length).toBeLessThanOrEqual(257);
  });
});

/** Refuses every fifth event. */
const picky = defineOperator({
  type: 'picky',
  description: 'refuses every fifth event',
  configSchema: z.strictObject({}),
  create: () => ({
    apply: mapEvents((e) => {
      if (Number(e.attributes.index) % 5 === 0) throw new PipelineError('PICKY_REFUSED', 'not this one');
      return e;
    }),
  }),
});

async function run(deadLetter: Record<string, unknown> | undefined) {
  const { lines, logger } = capture();
  const p = await createPipeline(
    { ...(deadLetter ? { dead_letter: deadLetter } : {}), sources: { gen: { type: 'generate', count: 20 } }, transforms: { p: { type: 'picky', inputs: ['gen'] } }, sinks: { out: { type: 'blackhole', inputs: ['p'] }, dl: { type: 'blackhole', inputs: ['dead_letter'] } } },
    { plugins: new PluginRegistry([...corePlugins, picky]), logger, once: true, stateStore: new MemoryStateStore() },
  );
  await p.start();
  return { result: await p.done, lines };
}

describe('PipelineResult.deadLetters: how many were refused, and whether the pipeline expects that many', () => {
  it('counts per code and component against the records read, and says it was not expected by default', async () => {
    const { result, lines } = await run(undefined);
    expect(result.deadLetters).toEqual({ count: 4, byCode: { PICKY_REFUSED: 4 }, byComponent: { p: 4 }, read: 20, expected: false });
    expect(lines().filter((l) => l.level === 40).map((l) => [l.msg, l.component, l.code, l.total])).toEqual([['records refused: sent to the dead-letter output', 'p', 'PICKY_REFUSED', 4]]);
    expect(lines().find((l) => l.code === 'PICKY_REFUSED')).toMatchObject({ to: 'sink dl' });
    expect(lines().find((l) => l.msg === 'pipeline finished')).toMatchObject({ deadLettered: { count: 4, byCode: { PICKY_REFUSED: 4 }, byComponent: { p: 4 } } });
  });

  it('dead_letter: { expected: true } accepts any number; max_ratio up to that share of the records read', async () => {
    expect((await run({ expected: true })).result.deadLetters.expected).toBe(true);
    expect((await run({ max_ratio: 0.2 })).result.deadLetters.expected).toBe(true);
    expect((await run({ max_ratio: 0.19 })).result.deadLetters.expected).toBe(false);
    expect((await run({ expected: false })).result.deadLetters.expected).toBe(false);
  });

  it('refuses conflicting settings at validate, located, saying what to do', async () => {
    const yaml = 'dead_letter:\n  expected: true\n  max_ratio: 0.01\nsources:\n  g: { type: generate, count: 1 }\nsinks:\n  o: { type: blackhole, inputs: [g] }\n';
    const err = await createPipeline(yaml, { plugins: corePlugins, file: 'p.yaml' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigErrors);
    const [e] = (err as ConfigErrors).errors;
    expect(e!.location).toMatchObject({ line: 3, path: 'dead_letter.max_ratio' });
    expect(e!.message).toContain('set expected: true (any number of dead letters is fine) or max_ratio (up to that share of the records read), not both');
  });
});
