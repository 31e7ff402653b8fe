/**
 * A bounded hand-over between a producer that is called (kafkajs's `eachBatch`) and a consumer
 * that pulls (the source's `read`). `push` waits while the queue is full, which holds kafkajs's
 * fetch loop: a slow pipeline slows the consumer instead of filling memory.
 */
export class ChunkQueue<T> {
  private readonly items: T[] = [];
  private taker: { resolve: (item: T | undefined) => void; reject: (error: unknown) => void } | undefined;
  private rooms: (() => void)[] = [];
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(private readonly maxItems: number) {}

  /** True once `close` or `fail` was called: nothing more is taken. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves true once `item` is queued, false when the queue was closed first (the item is dropped). */
  async push(item: T, stillWanted: () => boolean): Promise<boolean> {
    while (!this.closed && this.items.length >= this.maxItems) {
      await new Promise<void>((r) => this.rooms.push(r));
      if (!stillWanted()) return false;
    }
    if (this.closed) return false;
    const taker = this.taker;
    if (taker) {
      this.taker = undefined;
      taker.resolve(item);
    } else this.items.push(item);
    return true;
  }

  /** The next item; undefined once the queue is closed and empty. Rejects with the error given to `fail`. */
  pull(): Promise<T | undefined> {
    if (this.failure) return Promise.reject(this.failure.error);
    const item = this.items.shift();
    if (item !== undefined) {
      this.rooms.shift()?.();
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve, reject) => (this.taker = { resolve, reject }));
  }

  /** Drops queued items for which `keep` is false (a partition given up), making room. */
  retain(keep: (item: T) => boolean): void {
    const kept = this.items.filter(keep);
    const freed = this.items.length - kept.length;
    this.items.splice(0, this.items.length, ...kept);
    for (let i = 0; i < freed; i++) this.rooms.shift()?.();
  }

  /** Ends the queue with an error: the pending and every later `pull` rejects with it. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.close();
  }

  /** No more items: waiting pushes return false, a waiting pull gets what is left, then undefined. Idempotent. */
  close(): void {
    this.closed = true;
    for (const r of this.rooms.splice(0)) r();
    const taker = this.taker;
    this.taker = undefined;
    if (taker) {
      if (this.failure) taker.reject(this.failure.error);
      else taker.resolve(this.items.shift());
    }
  }

  /** Wakes waiting pushes so they can check whether they are still wanted (a rebalance). */
  wake(): void {
    for (const r of this.rooms.splice(0)) r();
  }
}
