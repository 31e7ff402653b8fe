const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)$/i;

/** Parses `64KiB`, `100MB`, `1.5 GiB` into bytes. */
export function parseByteSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  if (!m) throw new TypeError(`"${text}" is not a size: write a number with a unit, e.g. 64KiB, 100MB, 1GiB`);
  return Math.round(Number(m[1]) * UNIT_BYTES[m[2]!.toLowerCase()]!);
}

export function isByteSize(text: string): boolean {
  return SIZE_RE.test(text.trim());
}
