import type { Subscription } from 'rxjs';
import type { CallEvent } from '../event.js';
import type { Pipeline } from '../runtime/pipeline.js';
import { systemClock } from '../util/clock.js';

/** Dead letters the ops views keep: the last few are a sample to read, the counters say how many. */
export const RECENT_DEAD_LETTERS = 20;
/** The most of a dead record's JSON kept per dead letter. */
const RECORD_MAX_CHARS = 400;

/** One dead letter as the ops views show it. */
export interface DeadLetterNote {
  /** When it was refused (epoch milliseconds). */
  atMs: number;
  /** The component that refused it. */
  component: string;
  code: string;
  reason: string;
  /** The start of the refused record, as JSON. */
  record: string;
}

/**
 * The last {@link RECENT_DEAD_LETTERS} dead letters of a pipeline, watched through
 * `output$('dead_letter')` from `watch` on (before `start()` to see every one). Takes no part in
 * acknowledgements; holds a bounded ring, oldest first.
 */
export class RecentDeadLetters {
  private readonly ring: DeadLetterNote[] = [];
  private subscription: Subscription | undefined;

  watch(pipeline: Pipeline): void {
    this.subscription?.unsubscribe();
    this.subscription = pipeline.output$('dead_letter').subscribe({ next: (e) => this.add(e), error: () => {} });
  }

  private add(e: CallEvent): void {
    const a = e.attributes as { code?: unknown; reason?: unknown; component?: unknown };
    let record: string;
    try {
      record = JSON.stringify(e.raw) ?? '';
    } catch {
      record = String(e.raw);
    }
    this.ring.push({
      atMs: Date.parse(e.time) || systemClock.now(),
      component: String(a.component ?? e.source),
      code: String(a.code ?? ''),
      reason: String(a.reason ?? ''),
      record: record.length > RECORD_MAX_CHARS ? `${record.slice(0, RECORD_MAX_CHARS)}…` : record,
    });
    if (this.ring.length > RECENT_DEAD_LETTERS) this.ring.shift();
  }

  /** Oldest first. */
  list(): readonly DeadLetterNote[] {
    return this.ring;
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}
