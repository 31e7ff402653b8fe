const EMPTY = 0;
const INITIAL_CAPACITY = 1024;
/** Highest load of the linear-probing index: ≈1.8 probes per hit, ≈3.6 per miss. */
const MAX_LOAD = 0.6;

function indexSize(capacity: number): number {
  return nextPow2(Math.ceil(capacity / MAX_LOAD));
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * A set of 64-bit key hashes with expiry, bounded to `maxKeys` by evicting the oldest
 * insertion first. Memory: 12 bytes per key in an insertion-ordered ring plus a linear-probing
 * index of 4-byte slots at load ≤ 0.6 — about 19 bytes per key at 10 million keys (187 MB).
 * Grows by doubling up to `maxKeys`, so small pipelines stay small.
 */
export class KeyTable {
  private cap: number;
  private hi: Uint32Array;
  private lo: Uint32Array;
  private exp: Uint32Array; // expiry in seconds since epoch; 0 = deleted
  private index: Int32Array; // ring position + 1, or EMPTY
  private mask: number;
  private tail = 0; // oldest ring position
  private count = 0; // occupied ring entries (including deleted ones not yet evicted)
  private liveCount = 0;

  constructor(readonly maxKeys: number) {
    this.cap = Math.min(maxKeys, INITIAL_CAPACITY);
    this.hi = new Uint32Array(this.cap);
    this.lo = new Uint32Array(this.cap);
    this.exp = new Uint32Array(this.cap);
    this.index = new Int32Array(indexSize(this.cap));
    this.mask = this.index.length - 1;
  }

  get size(): number {
    return this.liveCount;
  }

  /** Approximate bytes held by the typed arrays. */
  get byteSize(): number {
    return this.hi.byteLength + this.lo.byteLength + this.exp.byteLength + this.index.byteLength;
  }

  private slotOf(hi: number, lo: number): number {
    return (Math.imul(lo ^ hi, 0x9e3779b1) >>> 0) & this.mask;
  }

  /** Ring position of the key, or -1. */
  private find(hi: number, lo: number): number {
    let s = this.slotOf(hi, lo);
    for (;;) {
      const v = this.index[s]!;
      if (v === EMPTY) return -1;
      const pos = v - 1;
      if (this.lo[pos] === lo && this.hi[pos] === hi) return pos;
      s = (s + 1) & this.mask;
    }
  }

  /** True when the key is present and not expired at `nowSec`. */
  has(hi: number, lo: number, nowSec: number): boolean {
    const pos = this.find(hi, lo);
    return pos >= 0 && this.exp[pos]! > nowSec;
  }

  /**
   * Adds the key (or refreshes its expiry). Returns false when it was already present and live.
   */
  add(hi: number, lo: number, expSec: number, nowSec: number): boolean {
    const pos = this.find(hi, lo);
    if (pos >= 0) {
      const live = this.exp[pos]! > nowSec;
      if (!live) {
        if (this.exp[pos] === 0) this.liveCount++;
        this.exp[pos] = expSec;
      }
      return !live;
    }
    this.evictExpired(nowSec);
    if (this.count === this.cap) {
      if (this.cap < this.maxKeys) this.grow();
      else this.evictOldest();
    }
    const at = (this.tail + this.count) % this.cap;
    this.hi[at] = hi;
    this.lo[at] = lo;
    this.exp[at] = expSec;
    this.count++;
    this.liveCount++;
    this.insertIndex(hi, lo, at);
    return true;
  }

  /** Forgets a key (its event was not delivered after all). */
  delete(hi: number, lo: number): void {
    const pos = this.find(hi, lo);
    if (pos >= 0 && this.exp[pos] !== 0) {
      this.exp[pos] = 0;
      this.liveCount--;
    }
  }

  /** Calls `fn` for each live key, oldest first. */
  forEach(fn: (hi: number, lo: number, exp: number) => void, nowSec: number): void {
    for (let i = 0; i < this.count; i++) {
      const p = (this.tail + i) % this.cap;
      if (this.exp[p]! > nowSec) fn(this.hi[p]!, this.lo[p]!, this.exp[p]!);
    }
  }

  private insertIndex(hi: number, lo: number, pos: number): void {
    let s = this.slotOf(hi, lo);
    while (this.index[s] !== EMPTY) s = (s + 1) & this.mask;
    this.index[s] = pos + 1;
  }

  private evictExpired(nowSec: number): void {
    // The ring is roughly ordered by expiry (one TTL for all keys), so expired keys gather at the tail.
    while (this.count > 0 && this.exp[this.tail]! <= nowSec) this.evictOldest();
  }

  private evictOldest(): void {
    const pos = this.tail;
    this.removeIndex(this.hi[pos]!, this.lo[pos]!, pos);
    if (this.exp[pos] !== 0) this.liveCount--;
    this.exp[pos] = 0;
    this.tail = (this.tail + 1) % this.cap;
    this.count--;
  }

  /** Linear-probing deletion with backward shift, so lookups never need tombstones. */
  private removeIndex(hi: number, lo: number, pos: number): void {
    let s = this.slotOf(hi, lo);
    while (this.index[s] !== pos + 1) {
      if (this.index[s] === EMPTY) return;
      s = (s + 1) & this.mask;
    }
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & this.mask;
      const v = this.index[j]!;
      if (v === EMPTY) break;
      const p = v - 1;
      const home = this.slotOf(this.hi[p]!, this.lo[p]!);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        this.index[hole] = v;
        hole = j;
      }
    }
    this.index[hole] = EMPTY;
  }

  private grow(): void {
    const newCap = Math.min(this.maxKeys, this.cap * 2);
    const hi = new Uint32Array(newCap);
    const lo = new Uint32Array(newCap);
    const exp = new Uint32Array(newCap);
    for (let i = 0; i < this.count; i++) {
      const p = (this.tail + i) % this.cap;
      hi[i] = this.hi[p]!;
      lo[i] = this.lo[p]!;
      exp[i] = this.exp[p]!;
    }
    this.hi = hi;
    this.lo = lo;
    this.exp = exp;
    this.cap = newCap;
    this.tail = 0;
    const size = indexSize(newCap);
    if (size === this.index.length) {
      // Same size: rebuild in place rather than hold two large indexes at once.
      this.index.fill(EMPTY);
    } else {
      this.index = new Int32Array(0);
      this.index = new Int32Array(size);
    }
    this.mask = this.index.length - 1;
    for (let i = 0; i < this.count; i++) this.insertIndex(hi[i]!, lo[i]!, i);
  }
}
