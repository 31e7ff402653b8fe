import { type CallEvent } from '@plumline/core';
import { setPathCopying } from '@plumline/core/util';

/**
 * Sets `value` at `parts` in `t`, a copy of an event whose `attributes` object is already a copy
 * of its own: the top level and `attributes.x` are written in place (no further copies, the hot
 * case), deeper paths copy the objects on the way down. `undefined` removes the field (it is
 * set to undefined, see {@link CallEvent}).
 */
export function setInCopy(t: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  const [first, second] = parts;
  if (parts.length === 1) {
    t[first!] = value;
  } else if (first === 'attributes') {
    const attributes = t.attributes as Record<string, unknown>;
    if (parts.length === 2) {
      attributes[second!] = value;
    } else setPathCopying(attributes, parts.slice(1), value);
  } else setPathCopying(t, parts, value);
}
