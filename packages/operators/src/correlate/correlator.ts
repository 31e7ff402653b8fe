import { type BatchPosition, type CallEvent } from '@plumline/core';
import { compileGetter } from '@plumline/core/util';
import type { CorrelateConfig, CorrelateRule } from './correlate-config.js';

/** One event the correlator holds, with what it needs to be restored after a restart. */
export interface Held {
  e: CallEvent;
  rule: number;
  role: 'anchor' | 'partner';
  keys: string[];
  positions: readonly BatchPosition[];
  arrivedMs: number;
  /** For an anchor: the partners joined to it so far (allocated at the first). */
  partners: Held[] | undefined;
  /** Left the correlator (joined into an anchor, or emitted). */
  gone?: boolean;
  /** In the arrival queue (a held anchor or a lone partner). */
  queued?: boolean;
  /** Counted in `pending`. */
  counted?: boolean;
  /** Emitted (alone or inside its anchor). */
  released: boolean;
  /**
   * The operator's bookkeeping for its state log (sequence number, bytes logged, and the
   * positions of the output batch that carried the event out, once every sink finished with it).
   * Only logged events have it: the record held for every event stays small.
   */
  log?: { n: number; bytes: number; deliveredAt?: readonly BatchPosition[] };
  /** The operator's checkpoint hold while the event is held in memory only (not logged). */
  hold?: { drop(): void };
}

/** What leaves the correlator: the events, and per event the held events it is made of (for durability tracking). */
export interface Released {
  events: CallEvent[];
  /**
   * Per entry of `events`: the held event it was made of, whose `partners` are its other parts
   * (no array per release), or undefined for an event no rule held.
   */
  parts: (Held | undefined)[];
}

const NO_HELD: readonly Held[] = Object.freeze([]);
/** The partners of `h` (none for a lone partner or an anchor that found none). */
export const partnersOf = (h: Held): readonly Held[] => h.partners ?? NO_HELD;

export const noneReleased = (): Released => ({ events: [], parts: [] });

/**
 * Held entries under one key, oldest first. Entries leave in (roughly) arrival order, so removal
 * marks them gone and the head moves past them: no array is ever searched to remove one entry.
 */
class HeldList {
  items: Held[] = [];
  head = 0;
  push(h: Held): void {
    this.items.push(h);
  }
  /** Moves the head past entries that left; true when nothing is left. */
  trim(): boolean {
    while (this.head < this.items.length && this.items[this.head]!.gone) this.head++;
    if (this.head > 32 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return this.head >= this.items.length;
  }
}

interface CompiledRule {
  rule: CorrelateRule;
  as: string;
  anchorKeys: ((e: CallEvent) => unknown)[];
  partnerKeys: ((e: CallEvent) => unknown)[];
  spanMs: number | undefined;
  /** The flag of every event of this rule that leaves alone: one frozen object, shared (events are never changed in place). */
  unmatched: Readonly<Record<string, unknown>>;
  anchors: Map<string, HeldList>;
  partners: Map<string, HeldList>;
}

const matches = (m: CorrelateRule['anchor'], e: CallEvent) => m.kind.includes(e.kind) && (m.source === undefined || m.source === e.source);
const keysOf = (getters: ((e: CallEvent) => unknown)[], e: CallEvent) => {
  const out: string[] = [];
  for (const g of getters) {
    const v = g(e);
    if (v !== undefined && v !== null && v !== '') out.push(String(v));
  }
  return out;
};
function held(e: CallEvent, rule: number, role: Held['role'], keys: string[], positions: readonly BatchPosition[], arrivedMs: number, log: Held['log']): Held {
  return { e, rule, role, keys, positions, arrivedMs, partners: undefined, gone: false, queued: false, counted: false, released: false, log, hold: undefined };
}

function pushTo(index: Map<string, HeldList>, key: string, h: Held): void {
  let list = index.get(key);
  if (!list) index.set(key, (list = new HeldList()));
  list.push(h);
}
const NO_PARTNERS: readonly CallEvent[] = Object.freeze([]);

/** Partners travel inside the anchor without their raw record (the anchor's event would double in size). */
const slim = (e: CallEvent): CallEvent => {
  if (e.raw === undefined) return e;
  const { raw: _raw, ...rest } = e;
  return rest;
};

/**
 * The join logic of `correlate`, free of RxJS and timers so it can be tested directly: events
 * go in with their positions and arrival time; joined or expired events come out.
 */
export class Correlator {
  private readonly rules: CompiledRule[];
  /** Held anchors and lone partners in arrival order (entries that left are skipped lazily). */
  private queue: Held[] = [];
  private head = 0;
  private count = 0;
  /** Events evicted by max_pending, waiting for {@link takeOverflow}. */
  private overflow: Released = noneReleased();
  /** Events evicted by max_pending so far. */
  evicted = 0;

  /** @param onHold called for each event that starts being held (it must then survive a restart). */
  constructor(
    private readonly c: CorrelateConfig,
    private readonly onHold: (h: Held) => void = () => {},
  ) {
    this.rules = c.rules.map((rule) => ({
      rule,
      as: rule.as ?? rule.name,
      anchorKeys: rule.anchor_key.map(compileGetter),
      partnerKeys: rule.partner_key.map(compileGetter),
      spanMs: rule.within_span,
      unmatched: Object.freeze({ rule: rule.name, unmatched: true }),
      anchors: new Map(),
      partners: new Map(),
    }));
  }

  /** Events held now. */
  get pending(): number {
    return this.count;
  }

  /** Every event held, for a snapshot. */
  heldEvents(): Held[] {
    const out: Held[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const h = this.queue[i]!;
      if (h.gone) continue;
      out.push(h);
      if (h.partners) for (const p of h.partners) out.push(p);
    }
    return out;
  }

  /**
   * Takes one event. What leaves now goes to `out`: the event itself when no rule gives it a
   * role, or a joined anchor; otherwise the event is held. `log` carries a restored event's log entry.
   */
  accept(e: CallEvent, positions: readonly BatchPosition[], nowMs: number, out: Released, log?: Held['log']): void {
    for (let r = 0; r < this.rules.length; r++) {
      const cr = this.rules[r]!;
      // Every field set up front: one object shape for all held events keeps V8's accesses monomorphic.
      if (matches(cr.rule.anchor, e)) return this.acceptAnchor(cr, held(e, r, 'anchor', keysOf(cr.anchorKeys, e), positions, nowMs, log), out);
      if (matches(cr.rule.partner, e)) return this.acceptPartner(cr, held(e, r, 'partner', keysOf(cr.partnerKeys, e), positions, nowMs, log), out);
    }
    out.events.push(e);
    out.parts.push(undefined);
  }

  private acceptAnchor(cr: CompiledRule, a: Held, out: Released): void {
    if (a.keys.length === 0) return this.release(a, out);
    // Partners that came first.
    for (const k of a.keys) {
      const waiting = cr.partners.get(k);
      if (!waiting) continue;
      for (let i = waiting.head; i < waiting.items.length; i++) {
        const p = waiting.items[i]!;
        if (!p.gone && this.inSpan(cr, a.e, p.e)) this.join(a, p);
      }
      if (waiting.trim()) cr.partners.delete(k);
    }
    if (a.partners && cr.rule.emit === 'first_partner') return this.release(a, out);
    this.hold(a);
    for (const k of a.keys) pushTo(cr.anchors, k, a);
  }

  private acceptPartner(cr: CompiledRule, p: Held, out: Released): void {
    if (p.keys.length === 0) return this.release(p, out);
    for (const k of p.keys) {
      const anchors = cr.anchors.get(k);
      if (!anchors) continue;
      let a: Held | undefined;
      for (let i = anchors.head; i < anchors.items.length && !a; i++) {
        const x = anchors.items[i]!;
        if (!x.gone && this.inSpan(cr, x.e, p.e)) a = x;
      }
      if (!a) continue;
      this.join(a, p);
      if (cr.rule.emit === 'first_partner') {
        this.release(a, out);
        if (anchors.trim()) cr.anchors.delete(k);
      } else this.onHold(p);
      return;
    }
    this.hold(p);
    for (const k of p.keys) pushTo(cr.partners, k, p);
  }

  private inSpan(cr: CompiledRule, anchor: CallEvent, partner: CallEvent): boolean {
    if (cr.spanMs === undefined) return true;
    const t = Date.parse(partner.time);
    const start = Date.parse(anchor.time) - cr.spanMs;
    const end = Date.parse(anchor.endTime ?? anchor.time) + cr.spanMs;
    return t >= start && t <= end;
  }

  private join(a: Held, p: Held): void {
    p.gone = true;
    (a.partners ??= []).push(p);
    if (a.queued) this.track(p);
  }

  private track(h: Held): void {
    if (!h.counted) {
      h.counted = true;
      this.count++;
    }
  }

  private untrack(h: Held): void {
    if (h.counted) {
      h.counted = false;
      this.count--;
    }
  }

  private hold(h: Held): void {
    h.queued = true;
    this.queue.push(h);
    this.track(h);
    this.onHold(h);
    if (h.partners) for (const p of h.partners) this.track(p);
    // Memory stays bounded: past max_pending, the oldest leave early, as if their window closed.
    while (this.count > this.c.max_pending) {
      const oldest = this.nextQueued();
      if (!oldest) break;
      this.evicted++;
      this.expireOne(oldest, this.overflow);
    }
  }

  /** What max_pending pushed out; the caller emits it with the batch in hand. */
  takeOverflow(): Released {
    const o = this.overflow;
    this.overflow = noneReleased();
    return o;
  }

  private nextQueued(): Held | undefined {
    while (this.head < this.queue.length && this.queue[this.head]!.gone) this.head++;
    const h = this.queue[this.head];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return h;
  }

  /** Releases every held event whose window closed at `nowMs` (all of them with Infinity). */
  expire(nowMs: number, out: Released): void {
    for (let h = this.nextQueued(); h && h.arrivedMs + this.c.window <= nowMs; h = this.nextQueued()) this.expireOne(h, out);
  }

  private expireOne(h: Held, out: Released): void {
    this.release(h, out);
    const cr = this.rules[h.rule]!;
    const index = h.role === 'anchor' ? cr.anchors : cr.partners;
    for (const k of h.keys) if (index.get(k)?.trim()) index.delete(k);
  }

  /** Emits an anchor with its partners (flagged unmatched when it has none), or a lone partner, flagged. */
  private release(h: Held, out: Released): void {
    this.untrack(h);
    h.gone = true;
    h.released = true;
    const cr = this.rules[h.rule]!;
    const partners = h.partners;
    let joined: CallEvent[] | undefined;
    if (partners) {
      joined = [];
      for (const p of partners) {
        this.untrack(p);
        p.released = true;
        joined.push(slim(p.e));
      }
    }
    // Object.assign, not spread: V8 makes "spread, then add a key" several times slower.
    const attributes: Record<string, unknown> = Object.assign({}, h.e.attributes);
    if (h.role === 'anchor') attributes[cr.as] = joined ?? NO_PARTNERS;
    attributes.correlation = joined ? { rule: cr.rule.name, partners: joined.length } : cr.unmatched;
    out.events.push({ ...h.e, attributes });
    out.parts.push(h);
  }
}
