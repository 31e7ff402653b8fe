import { extname, resolve, sep } from 'node:path';

/**
 * One position of a path as a template can render it: a fixed character, a digit (what `%Y`,
 * `%m`… render), a run of digits, maybe empty (a rotation part's number after its first digit),
 * or a field's value (any text without `/`, what `{{field}}` renders).
 */
type Atom = { readonly lit: string } | 'digit' | 'digits' | 'field';

/** Stands in a template for a rotation part's number (`name.1.ndjson`): not a field name a template can hold. */
const PART = '\u0000part\u0000';

const TIME_DIGITS: Readonly<Record<string, number>> = { Y: 4, m: 2, d: 2, H: 2, M: 2, S: 2, j: 3 };

/**
 * The files a path template renders to (its first part; gzip's `.gz` as the sink adds it), as
 * atoms over the absolute path. Relative paths are taken from the working directory, as the sink
 * takes them.
 */
export function renderedPathAtoms(template: string, gzip: boolean): Atom[] {
  let t = gzip && !template.endsWith('.gz') ? `${template}.gz` : template;
  // The fixed text before the first placeholder, made absolute the way the sink resolves paths.
  const first = t.search(/\{\{|%[YmdHMSj]|\u0000part\u0000/);
  if (first === -1) return [...resolve(t.replace(/%%/g, '%'))].map((c) => ({ lit: c }));
  const cut = t.lastIndexOf('/', first);
  const head = cut >= 0 ? resolve(t.slice(0, cut + 1)) + sep : resolve('.') + sep;
  t = t.slice(cut + 1);
  const atoms: Atom[] = [...head].map((c) => ({ lit: c }));
  for (let i = 0; i < t.length; ) {
    if (t.startsWith(PART, i)) {
      atoms.push('digit', 'digits');
      i += PART.length;
      continue;
    }
    const field = /^\{\{[^}]*\}\}/.exec(t.slice(i));
    if (field) {
      atoms.push('field');
      i += field[0].length;
      continue;
    }
    if (t[i] === '%' && i + 1 < t.length) {
      const c = t[i + 1]!;
      if (c === '%') atoms.push({ lit: '%' });
      else for (let n = 0; n < (TIME_DIGITS[c] ?? 0); n++) atoms.push('digit');
      i += 2;
      continue;
    }
    atoms.push({ lit: t[i]! });
    i++;
  }
  return atoms;
}

/**
 * Every pattern of the files a sink can write: its first part, and with `rotate`, its later
 * parts (`name.N.ext`, as the sink numbers them).
 */
export function renderedPathPatterns(template: string, gzip: boolean, rotated: boolean): Atom[][] {
  const patterns = [renderedPathAtoms(template, gzip)];
  if (!rotated) return patterns;
  const path = gzip && template.endsWith('.gz') ? template.slice(0, -3) : template;
  const ext = extname(path);
  patterns.push(renderedPathAtoms(ext ? `${path.slice(0, -ext.length)}.${PART}${ext}` : `${path}.${PART}`, gzip));
  return patterns;
}

/** Whether two atoms can stand for the same character (runs are handled by the caller). */
function sameChar(a: Exclude<Atom, 'field' | 'digits'>, b: Exclude<Atom, 'field' | 'digits'>): boolean {
  if (a === 'digit' && b === 'digit') return true;
  if (a === 'digit') return /[0-9]/.test((b as { lit: string }).lit);
  if (b === 'digit') return /[0-9]/.test(a.lit);
  return a.lit === b.lit;
}

/**
 * True when some event (or two) can make the two templates render one file: whether the two
 * patterns share a string, a field standing for any text without `/`. An over-approximation only
 * in that a field may render an empty text here (the sink dead-letters a missing field, or
 * renders `missing_field`): two paths this says can meet may still be kept apart by that alone,
 * which no one should rely on.
 */
export function pathsCanMeet(a: readonly Atom[], b: readonly Atom[]): boolean {
  const seen = new Set<number>();
  const width = b.length + 1;
  // Depth-first over (position in a, position in b); each pair is visited once.
  const stack: [number, number][] = [[0, 0]];
  while (stack.length) {
    const [i, j] = stack.pop()!;
    const key = i * width + j;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    const x = a[i];
    const y = b[j];
    if (x === 'field') {
      stack.push([i + 1, j]);
      // The field takes the other's next character, unless that is a fixed `/`.
      if (y !== undefined && !(typeof y === 'object' && y.lit === '/')) stack.push([i, j + 1]);
      continue;
    }
    if (y === 'field') {
      stack.push([i, j + 1]);
      if (x !== undefined && !(typeof x === 'object' && x.lit === '/')) stack.push([i + 1, j]);
      continue;
    }
    // A run of digits ends, or takes the other's next character when that can be a digit.
    if (x === 'digits') {
      stack.push([i + 1, j]);
      if (y !== undefined && (y === 'digits' || sameChar('digit', y))) stack.push([i, j + 1]);
      continue;
    }
    if (y === 'digits') {
      stack.push([i, j + 1]);
      if (x !== undefined && sameChar('digit', x)) stack.push([i + 1, j]);
      continue;
    }
    if (x !== undefined && y !== undefined && sameChar(x, y)) stack.push([i + 1, j + 1]);
  }
  return false;
}
