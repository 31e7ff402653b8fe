import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../', import.meta.url));

/** Every entry point a package publishes (its `exports` map), as the source file it is built from. */
function entryPoints(): string[] {
  return readdirSync(packages).flatMap((p) => {
    const manifest = JSON.parse(readFileSync(join(packages, p, 'package.json'), 'utf8')) as { exports?: Record<string, { default: string }> };
    return Object.values(manifest.exports ?? {}).map((e) => join(packages, p, e.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')));
  });
}

describe('the published API', () => {
  it('documents every export of every package entry point (what an editor shows on hover)', () => {
    const entries = entryPoints();
    expect(entries.length).toBeGreaterThanOrEqual(14);
    const program = ts.createProgram(entries, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true });
    const checker = program.getTypeChecker();
    // Re-exported from zod, pino and kafkajs (@plumline/kafka-client/support), whose own documentation an editor shows.
    const foreign = new Set(['z', 'Logger', 'LevelWithSilent', 'kafkajs']);
    const undocumented = entries.flatMap((entry) =>
      checker
        .getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!)
        .filter((exp) => !foreign.has(exp.name))
        .filter((exp) => !ts.displayPartsToString((exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp).getDocumentationComment(checker)).trim())
        .map((exp) => `${entry.slice(packages.length)}: ${exp.name}`),
    );
    expect(undocumented).toEqual([]);
  });
});
