import { systemClock } from '../util/clock.js';

/**
 * Turns of many tenants at a shared resource (a vendor's API): at most `slots` tenants hold a
 * turn at once, and tenants waiting are served in order of how overdue they are — the one whose
 * poll fell due first goes first — from a binary heap, so a turn costs O(log n) whatever the
 * number of tenants. A tenant that waits (between polls, in backoff) holds no turn.
 */
export class TenantTurns {
  private free: number;
  private readonly heap: Waiter[] = [];
  private order = 0;

  constructor(readonly slots: number) {
    this.free = slots;
  }

  /** Tenants waiting for a turn now. */
  get waiting(): number {
    return this.heap.length;
  }

  /** Resolves with the release of a turn, once one is free and no tenant due earlier waits; `dueMs`: when this tenant's poll fell due. */
  take(dueMs: number, signal?: AbortSignal): Promise<() => void> {
    if (this.free > 0 && this.heap.length === 0) {
      this.free--;
      return Promise.resolve(this.grant());
    }
    return new Promise((resolve) => {
      // A stop while waiting: the waiter leaves with a release that gives nothing back. The
      // listener goes when the turn comes, so a tenant's signal does not gather one per poll.
      const onAbort = (): void => {
        if (remove(this.heap, w)) resolve(() => {});
      };
      const w: Waiter = {
        dueMs,
        order: this.order++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.grant());
        },
      };
      push(this.heap, w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private grant(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = pop(this.heap);
      if (next) next.wake();
      else this.free++;
    };
  }
}

/** One tenant's hold on {@link TenantTurns}: taken for a pass, let go while it waits in backoff, retaken after. */
export class TenantTurn {
  private release: (() => void) | undefined;
  /**
   * The tenant's reads fail and are tried again as a whole (a part in backoff): its requests are
   * not retried inside an attempt — the part's backoff is the retry — so a tenant that keeps
   * failing sends about one request per backoff, not `max_retries + 1`. Set and cleared by pollRanges.
   */
  failing = false;

  constructor(
    private readonly turns: TenantTurns,
    private readonly now: () => number = systemClock.now,
  ) {}

  /** Takes a turn (no-op when held); `dueMs`: when the tenant's poll fell due (default: now). */
  async take(signal?: AbortSignal, dueMs = this.now()): Promise<void> {
    if (this.release) return;
    this.release = await this.turns.take(dueMs, signal);
  }

  /** Lets the turn go (idempotent). */
  give(): void {
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  /** Waits for `wait` without a turn: the others go on meanwhile; the turn is taken again after (as due when the wait ended). */
  async without(wait: () => Promise<void>, signal?: AbortSignal): Promise<void> {
    const held = this.release !== undefined;
    this.give();
    try {
      await wait();
    } finally {
      if (held && !signal?.aborted) await this.take(signal);
    }
  }
}

interface Waiter {
  dueMs: number;
  /** Arrival, to keep equal due times first come, first served. */
  order: number;
  wake: () => void;
  index?: number;
}

const before = (a: Waiter, b: Waiter): boolean => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);

function swap(h: Waiter[], i: number, j: number): void {
  [h[i], h[j]] = [h[j]!, h[i]!];
  h[i]!.index = i;
  h[j]!.index = j;
}

function up(h: Waiter[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(h[i]!, h[p]!)) return;
    swap(h, i, p);
    i = p;
  }
}

function down(h: Waiter[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && before(h[l]!, h[m]!)) m = l;
    if (r < h.length && before(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    swap(h, i, m);
    i = m;
  }
}

function push(h: Waiter[], w: Waiter): void {
  w.index = h.length;
  h.push(w);
  up(h, w.index);
}

function pop(h: Waiter[]): Waiter | undefined {
  if (h.length === 0) return undefined;
  const top = h[0]!;
  remove(h, top);
  return top;
}

function remove(h: Waiter[], w: Waiter): boolean {
  const i = w.index;
  if (i === undefined || h[i] !== w) return false;
  const last = h.pop()!;
  w.index = undefined;
  if (last !== w) {
    h[i] = last;
    last.index = i;
    down(h, i);
    up(h, i);
  }
  return true;
}
