/** A key as a file name: `/` in component-scoped keys becomes `~`, anything unusual is %-escaped. */
export function encodeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, (c) => (c === '/' ? '~' : `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** The key a file name was encoded from (see encodeKey). */
export function decodeKey(name: string): string {
  return name.replace(/~/g, '/').replace(/%([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
