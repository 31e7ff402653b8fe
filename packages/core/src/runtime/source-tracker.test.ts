import { describe, expect, it } from 'vitest';
import { SourceTracker } from './source-tracker.js';

describe('SourceTracker checkpoint holds', () => {
  const tracker = (maxInFlight = 2) => new SourceTracker('src', undefined, maxInFlight, () => {});

  it('keeps the checkpoint before a held batch, then passes it and what settled after it once released', () => {
    const t = tracker(10);
    const [r1, r2, r3] = [t.issue({ at: 1 }), t.issue({ at: 2 }), t.issue({ at: 3 })];
    const release = t.hold(2);
    r1.release();
    r2.release();
    r3.release();
    expect(t.checkpoint).toEqual({ seq: 1, position: { at: 1 } });
    release();
    expect(t.checkpoint).toEqual({ seq: 3, position: { at: 3 } });
  });

  it('counts holds: a batch held twice waits for both; a second release of one hold does nothing', () => {
    const t = tracker(10);
    const r1 = t.issue({ at: 1 });
    const a = t.hold(1);
    const b = t.hold(1);
    r1.release();
    a();
    a();
    expect(t.checkpoint.seq).toBe(0);
    b();
    expect(t.checkpoint.seq).toBe(1);
  });

  it('does not hold up the source: credit comes back when batches settle, held or not', async () => {
    const t = tracker(1);
    const r1 = t.issue({ at: 1 });
    t.hold(1);
    let granted = false;
    const credit = t.waitForCredit().then(() => (granted = true));
    r1.release();
    await credit;
    expect(granted).toBe(true);
    expect(t.inFlight).toBe(0);
    expect(t.checkpoint.seq).toBe(0);
  });

  it('refuses a hold on a batch the checkpoint already covers', () => {
    const t = tracker();
    t.issue({ at: 1 }).release();
    expect(() => t.hold(1)).toThrow();
  });
});

describe('SourceTracker keyed checkpoints (SourcePage.checkpointKey)', () => {
  it("merges each page's position into its key's entry of the stored record; a restored record keeps the keys no page moved", () => {
    const t = new SourceTracker('src', { seq: 4, position: { a: { at: 1 }, b: { at: 1 }, gone: { at: 9 } } }, 10, () => {});
    const ra = t.issue({ at: 2 }, Number.NaN, 'a');
    const rnone = t.issue(undefined, Number.NaN, 'b');
    const rb = t.issue({ at: 5 }, Number.NaN, 'b');
    const rc = t.issue({ at: 1 }, Number.NaN, 'c');
    expect(t.checkpointAfter(new Set([5, 6]))).toEqual({ seq: 6, position: { a: { at: 2 }, b: { at: 1 }, gone: { at: 9 } } });
    rb.release();
    ra.release();
    expect(t.checkpoint).toEqual({ seq: 5, position: { a: { at: 2 }, b: { at: 1 }, gone: { at: 9 } } });
    const before = t.checkpoint.position;
    rnone.release();
    rc.release();
    expect(t.checkpoint).toEqual({ seq: 8, position: { a: { at: 2 }, b: { at: 5 }, gone: { at: 9 }, c: { at: 1 } } });
    // A checkpoint handed out (to a commit) is never changed afterwards.
    expect(before).toEqual({ a: { at: 2 }, b: { at: 1 }, gone: { at: 9 } });
  });
});

describe('SourceTracker keyed checkpoints: cost per batch', () => {
  it('writes keyed batches into a record nobody was handed (no copy per batch), and copies it once after it was handed out', () => {
    const t = new SourceTracker('src', undefined, 1000, () => {});
    t.issue({ at: 0 }, Number.NaN, 'k0').release();
    const first = t.checkpoint.position as Record<string, unknown>;
    // Handed out: the next batch copies, and the copy is then written into batch after batch.
    t.issue({ at: 1 }, Number.NaN, 'k1').release();
    const internal = (t as unknown as { committable: { position: unknown } }).committable.position;
    expect(internal).not.toBe(first);
    t.issue({ at: 2 }, Number.NaN, 'k2').release();
    expect((t as unknown as { committable: { position: unknown } }).committable.position).toBe(internal);
    expect(first).toEqual({ k0: { at: 0 } });
    expect(t.checkpoint.position).toEqual({ k0: { at: 0 }, k1: { at: 1 }, k2: { at: 2 } });
  });
});

describe('SourceTracker orphan writes (state staged on a batch no atomic commit carried)', () => {
  const staged = (t: SourceTracker) => {
    const r = t.issue({ at: 1 });
    r.stage({ kind: 'set', key: 'dedupe/seen', value: 1 });
    r.release();
  };

  it('keeps them for the next atomic commit when made for an exactly-once pipeline (collectsOrphans), once', () => {
    const t = new SourceTracker('src', undefined, 10, () => {}, { collectsOrphans: true });
    expect(t.collectsOrphans).toBe(true);
    staged(t);
    expect(t.takeOrphanWrites()).toEqual([{ kind: 'set', key: 'dedupe/seen', value: 1 }]);
    expect(t.takeOrphanWrites()).toEqual([]);
  });

  it('drops them otherwise (no atomic commit would ever take them: they must not pile up)', () => {
    const t = new SourceTracker('src', undefined, 10, () => {});
    staged(t);
    expect(t.takeOrphanWrites()).toEqual([]);
  });
});
