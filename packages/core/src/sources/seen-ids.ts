import type { CallEvent } from '../event.js';

/**
 * The ids one page delivered that a later pass may read again: the latest start among them
 * (cursor units) first, then the ids. Never changed once made, so a checkpoint can share it.
 */
export type SeenChunk = [number, ...string[]];

/**
 * Ids a polling source delivered whose records a later pass may list again (they started less
 * than `lateness` before a pass began), per stream, so that each record is delivered once
 * however often the lateness window is read. Kept as immutable chunks, one per page, so that a
 * page's checkpoint holds exactly the ids delivered up to it at the cost of copying a list of
 * references, not the ids.
 */
export class SeenIds<S extends string> {
  private readonly chunks = new Map<S, SeenChunk[]>();
  private readonly ids = new Set<string>();

  constructor(restored: Partial<Record<S, SeenChunk[]>> | undefined) {
    for (const [stream, chunks] of Object.entries(restored ?? {}) as [S, SeenChunk[]][]) {
      this.chunks.set(stream, [...chunks]);
      for (const c of chunks) for (let i = 1; i < c.length; i++) this.ids.add(c[i] as string);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * The events of a page not delivered before; those that started at or after `horizon` are
   * remembered (a later pass reads no earlier than that).
   */
  accept(stream: S, events: readonly CallEvent[], startOf: (e: CallEvent) => number, horizon: number): CallEvent[] {
    const fresh: CallEvent[] = [];
    const chunk: SeenChunk = [Number.NEGATIVE_INFINITY];
    for (const e of events) {
      if (this.ids.has(e.id)) continue;
      fresh.push(e);
      const start = startOf(e);
      if (!(start >= horizon)) continue;
      this.ids.add(e.id);
      chunk.push(e.id);
      if (start > chunk[0]) chunk[0] = start;
    }
    if (chunk.length > 1) {
      const list = this.chunks.get(stream);
      if (list) list.push(chunk);
      else this.chunks.set(stream, [chunk]);
    }
    return fresh;
  }

  /** Forgets a stream's chunks whose records all started before `from`: no pass reads them again. */
  prune(stream: S, from: number): void {
    const chunks = this.chunks.get(stream);
    if (!chunks) return;
    const kept = chunks.filter((c) => c[0] >= from);
    if (kept.length === chunks.length) return;
    for (const c of chunks) if (c[0] < from) for (let i = 1; i < c.length; i++) this.ids.delete(c[i] as string);
    if (kept.length) this.chunks.set(stream, kept);
    else this.chunks.delete(stream);
  }

  /** For a checkpoint: the chunk lists as they are now (the chunks themselves are shared). */
  snapshot(): Partial<Record<S, SeenChunk[]>> | undefined {
    if (this.chunks.size === 0) return undefined;
    const out: Partial<Record<S, SeenChunk[]>> = {};
    for (const [stream, chunks] of this.chunks) out[stream] = [...chunks];
    return out;
  }
}
