import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(root, 'node_modules/typescript/bin/tsc');
/** Inside the clone, so that `@plumline/*` resolve to the workspace packages as they are built. */
const WORK = join(root, '.tmp', 'docs-code');

interface Block {
  file: string;
  code: string;
  run: boolean;
}

/**
 * The TypeScript blocks of a Markdown page. An HTML comment right before a block (invisible on
 * the page) may name its file (`file: x.ts`, so that blocks import each other), add declarations
 * it takes as given (`prelude: …`) or ask for it to be run (`run`).
 */
function blocksOf(page: string): Block[] {
  const text = readFileSync(join(root, page), 'utf8');
  return [...text.matchAll(/(?:<!--\s*(.*?)\s*-->\n)?```ts\n([\s\S]*?)```/g)].map((m, i) => {
    const notes = Object.fromEntries((m[1] ?? '').split(/;\s*(?=file:|prelude:|run\b)/).filter(Boolean).map((n) => {
      const [k, ...v] = n.split(':');
      return [k!.trim(), v.join(':').trim()];
    }));
    return { file: notes.file || `block-${i + 1}.ts`, code: `${notes.prelude ? `${notes.prelude}\n` : ''}${m[2]!}`, run: 'run' in notes };
  });
}

const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`), ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`)].filter((p) => blocksOf(p).length > 0);

function run(cmd: string, args: string[], cwd: string): { code: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('every TypeScript block in the README, docs/ and the package READMEs compiles (strict) against the packages, and the programs among them run', () => {
  it('finds the blocks', () => {
    expect(pages.flatMap(blocksOf).length).toBeGreaterThanOrEqual(7);
  });

  it.each(pages)('%s', { timeout: 120_000 }, async (page) => {
    const dir = join(WORK, page.replace(/[/.]/g, '_'));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const blocks = blocksOf(page);
    for (const b of blocks) await writeFile(join(dir, b.file), b.code);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out', rootDir: '.', skipLibCheck: true, noEmitOnError: true, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, include: ['*.ts'] }),
    );
    const compiled = run(process.execPath, [TSC, '-p', '.'], dir);
    expect(compiled.output, `${page}: tsc`).toBe('');
    expect(compiled.code).toBe(0);
    const printed: string[] = [];
    for (const b of blocks.filter((x) => x.run)) {
      const ran = run(process.execPath, [join('out', b.file.replace(/\.ts$/, '.js'))], dir);
      expect(ran.code, `${page} ${b.file}: ${ran.output}`).toBe(0);
      // What the program printed (its last line that is not a JSON log line).
      printed.push(ran.output.trim().split('\n').filter((l) => !l.startsWith('{')).at(-1) ?? '');
    }
    if (page === 'README.md') {
      // The library section's two pipelines, run one after the other in one directory, each read
      // their own source from its start (they used to share one checkpoint: the second printed 0).
      expect(printed[0]).toMatch(/^1000 /);
      expect(Number(printed[1])).toBeGreaterThan(850);
      expect(Number(printed[1])).toBeLessThan(1000);
    }
  });
});
