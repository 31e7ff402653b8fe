/**
 * Results by input, at most `maxSize` of them. A full map starts over: cheaper than LRU
 * bookkeeping, and a working set of recurring inputs (numbers, hours) refills it at once.
 */
export class MemoMap<K, V> {
  private map = new Map<K, V>();

  constructor(
    private readonly maxSize: number,
    private readonly compute: (key: K) => V,
  ) {}

  /** The result for `key`, computed on first use. */
  get(key: K): V {
    let v = this.map.get(key);
    if (v === undefined) {
      v = this.compute(key);
      if (this.map.size >= this.maxSize) this.map = new Map();
      this.map.set(key, v);
    }
    return v;
  }
}
