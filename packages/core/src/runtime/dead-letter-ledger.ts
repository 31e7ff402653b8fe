import type { DeadLetter } from '../event.js';
import type { Logger } from '../logger.js';
import { lenientJson } from '../util/lenient-json.js';
import { systemClock } from '../util/clock.js';

/** Between two warnings about one code of one component, at least this long; what comes meanwhile is counted and told with the next. */
export const DEAD_LETTER_WARN_INTERVAL_MS = 10_000;
/** Counters kept at most (component × code); codes beyond them are counted under OTHER_CODES. */
export const MAX_DEAD_LETTER_COUNTERS = 256;
/** What codes beyond {@link MAX_DEAD_LETTER_COUNTERS} are counted as. */
const OTHER_CODES = 'OTHER_CODES';
/** Characters of a record (not an event) shown in a warning: enough to recognise it, too few to copy it out. */
const EXCERPT_CHARS = 80;

/** How many records were dead-lettered, in all, per code and per component that refused them. */
export interface DeadLetterTotals {
  count: number;
  byCode: Record<string, number>;
  byComponent: Record<string, number>;
}

/**
 * What `PipelineResult.deadLetters` says about a run: the totals, the records the sources read
 * (events they emitted and records they refused), and whether that many dead letters is what
 * the pipeline's `dead_letter` section expects (`expected: true`, or at most `max_ratio` of the
 * records read; none always is). `plumline run` ends with exit status 3 when it is not.
 */
export interface DeadLetterReport extends DeadLetterTotals {
  read: number;
  expected: boolean;
}

interface Counter {
  component: string;
  code: string;
  total: number;
  /** Counted since the last warning, not told yet. */
  untold: number;
  lastWarnMs: number;
  example: DeadLetter;
}

/**
 * Counts every record a pipeline's components refuse and tells someone: a warning at the first
 * record of each code per component (with one example), then at most one per
 * {@link DEAD_LETTER_WARN_INTERVAL_MS} with the count since the last one and the total, and at the
 * end of the run what was not told yet. Every line carries its component, as component lines do. Without it, a sink that refused
 * every record of a run (a misspelt topic template) logged nothing above info.
 */
export class DeadLetterLedger {
  private readonly counters = new Map<string, Counter>();
  private readonly byCode = new Map<string, number>();
  private readonly byComponent = new Map<string, number>();
  private count = 0;
  private readonly now: () => number;
  private readonly destination: string | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly logger: Logger,
    options: { /** Where the dead letters go, for the warnings ("the dead-letter file …", "sink …"). */ destination?: string; now?: () => number; intervalMs?: number } = {},
  ) {
    this.now = options.now ?? systemClock.now;
    this.destination = options.destination;
    this.intervalMs = options.intervalMs ?? DEAD_LETTER_WARN_INTERVAL_MS;
  }

  /** Counts `dead`, refused by `component`, and warns as the rate allows. */
  record(component: string, dead: readonly DeadLetter[]): void {
    for (const d of dead) {
      const counter = this.counterFor(component, d);
      counter.total++;
      counter.untold++;
      this.count++;
      this.byCode.set(counter.code, (this.byCode.get(counter.code) ?? 0) + 1);
      this.byComponent.set(component, (this.byComponent.get(component) ?? 0) + 1);
    }
    const now = this.now();
    for (const counter of this.touched(component, dead)) {
      if (now - counter.lastWarnMs >= this.intervalMs) this.warn(counter, now);
    }
  }

  /** The run ended: tells what was counted since the last warnings (each line carries its component's total). */
  finish(): void {
    for (const counter of this.counters.values()) if (counter.untold > 0) this.warn(counter, this.now());
  }

  totals(): DeadLetterTotals {
    return { count: this.count, byCode: Object.fromEntries(this.byCode), byComponent: Object.fromEntries(this.byComponent) };
  }

  /** The totals against `read` records, and whether that many is within `maxRatio` of them (Infinity: any number). */
  report(read: number, maxRatio: number): DeadLetterReport {
    return { ...this.totals(), read, expected: this.count === 0 || this.count <= maxRatio * read };
  }

  /** Several runs' reports as one (the copies of a pipeline run per task), judged against `maxRatio`. */
  static merge(reports: readonly DeadLetterReport[], maxRatio: number): DeadLetterReport {
    const add = (into: Record<string, number>, from: Record<string, number>) => {
      for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
    };
    const out: DeadLetterReport = { count: 0, byCode: {}, byComponent: {}, read: 0, expected: true };
    for (const r of reports) {
      out.count += r.count;
      out.read += r.read;
      add(out.byCode, r.byCode);
      add(out.byComponent, r.byComponent);
    }
    out.expected = out.count === 0 || out.count <= maxRatio * out.read;
    return out;
  }

  private counterFor(component: string, d: DeadLetter): Counter {
    let key = `${component}\u0000${d.code}`;
    let counter = this.counters.get(key);
    if (counter) return counter;
    const code = this.counters.size < MAX_DEAD_LETTER_COUNTERS ? d.code : OTHER_CODES;
    key = `${component}\u0000${code}`;
    counter = this.counters.get(key);
    if (!counter) this.counters.set(key, (counter = { component, code, total: 0, untold: 0, lastWarnMs: -Infinity, example: d }));
    return counter;
  }

  /** The counters `dead` added to, once each. */
  private touched(component: string, dead: readonly DeadLetter[]): Set<Counter> {
    const out = new Set<Counter>();
    for (const d of dead) out.add(this.counters.get(`${component}\u0000${d.code}`) ?? this.counters.get(`${component}\u0000${OTHER_CODES}`)!);
    return out;
  }

  private warn(counter: Counter, now: number): void {
    this.logger.warn(
      { component: counter.component, code: counter.code, count: counter.untold, total: counter.total, example: { reason: counter.example.reason.slice(0, 300), record: excerpt(counter.example.record) }, ...this.to() },
      'records refused: sent to the dead-letter output',
    );
    counter.untold = 0;
    counter.lastWarnMs = now;
  }

  private to(): { to?: string } {
    return this.destination === undefined ? {} : { to: this.destination };
  }
}

/**
 * A record as a warning may show it: an event by its id, source and kind (its fields may hold
 * phone numbers and free text); anything else as the first characters of its JSON or text.
 */
function excerpt(record: unknown): string {
  if (record !== null && typeof record === 'object' && typeof (record as { id?: unknown }).id === 'string') {
    const e = record as { id: string; source?: unknown; kind?: unknown };
    const what = [e.source, e.kind].filter((x) => typeof x === 'string').join(' ');
    return `event ${e.id.slice(0, EXCERPT_CHARS)}${what ? ` (${what})` : ''}`;
  }
  const text = typeof record === 'string' ? record : String(lenientJson(record));
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}
