/**
 * At most `count` holders at once: `acquire()` resolves with a release function once a permit is
 * free, in the order asked. Releasing twice gives back one permit.
 */
export function createPermits(count: number): () => Promise<() => void> {
  let free = count;
  const waiting: (() => void)[] = [];
  const grant = (): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next();
      else free++;
    };
  };
  return () => {
    if (free > 0) {
      free--;
      return Promise.resolve(grant());
    }
    return new Promise((resolve) => waiting.push(() => resolve(grant())));
  };
}
