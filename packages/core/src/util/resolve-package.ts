import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

type Exports = string | { [condition: string]: Exports } | undefined;

/** Conditions tried, in order, for a package's entry: what an ES module import in Node would use. */
const CONDITIONS = ['node', 'import', 'default'];

function pick(exp: Exports): string | undefined {
  if (typeof exp === 'string') return exp;
  if (!exp || typeof exp !== 'object') return undefined;
  if ('.' in exp) return pick(exp['.']);
  for (const c of CONDITIONS) if (c in exp) {
    const found = pick(exp[c]);
    if (found) return found;
  }
  return undefined;
}

/**
 * The entry file of package `name` (or `name/subpath` when the package exports it) as an ES
 * module import from `fromDir` would find it: node_modules folders upward, the `exports` map
 * (conditions node / import / default), else `main`, else index.js. Undefined when not installed.
 * (require.resolve cannot be used: it refuses packages that export only an `import` condition.)
 */
export function resolvePackageEntry(specifier: string, fromDir: string): string | undefined {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  const subpath = parts.slice(specifier.startsWith('@') ? 2 : 1).join('/');
  const pkgDir = resolvePackageDir(name, fromDir);
  if (pkgDir === undefined) return undefined;
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports?: Exports; main?: string };
  if (pkg.exports !== undefined) {
    const exp = subpath ? (typeof pkg.exports === 'object' ? (pkg.exports as Record<string, Exports>)[`./${subpath}`] : undefined) : pkg.exports;
    const target = pick(exp);
    return target ? join(pkgDir, target) : undefined;
  }
  return join(pkgDir, subpath || pkg.main || 'index.js');
}

/** The directory of package `name` (its package.json's) as an import from `fromDir` finds it: node_modules folders upward. Undefined when not installed. */
export function resolvePackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    if (existsSync(join(pkgDir, 'package.json'))) return pkgDir;
    if (dirname(dir) === dir) return undefined;
  }
}
