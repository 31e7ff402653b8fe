import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { runCli, runWithRandomKills } from './run-cli.js';

/** Every line of every output file under `out/` (not dotfiles), as sorted ids; each file must end in a whole line. */
export async function readOutputIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const f of await readdir(join(dir, 'out'))) {
    // Owner files (a fixed path's `.<name>.plumline-owner`, a template's `.plumline-owner`) are claims, not output.
    if (f.startsWith('.')) continue;
    const text = await readFile(join(dir, 'out', f), 'utf8');
    expect(text.endsWith('\n'), `${f} ends mid-line`).toBe(true);
    for (const line of text.split('\n')) if (line) ids.push((JSON.parse(line) as { id: string }).id);
  }
  return ids.sort();
}

/**
 * The crash tests of the polling sources: runs `yaml` once without faults (the expected output),
 * then `trials` times with `killsPerTrial` SIGKILLs armed after the first committed checkpoint,
 * and checks each trial's files hold exactly the expected records (none lost, none twice).
 * Resolves with the expected ids and how many kills landed mid-run.
 */
export async function checkExactAfterKills(yaml: string, o: { trials: number; killsPerTrial: number }): Promise<{ expected: string[]; kills: number }> {
  const reference = await tmpDir('plumline-ref-');
  let expected: string[];
  try {
    await writeFile(join(reference.dir, 'p.yaml'), yaml);
    const r = await runCli(['run', 'p.yaml', '--once', '--log-level', 'warn'], reference.dir);
    expect(r.code, r.stderr).toBe(0);
    expected = await readOutputIds(reference.dir);
  } finally {
    await reference.cleanup();
  }
  expect(new Set(expected).size).toBe(expected.length);
  let kills = 0;
  for (let trial = 0; trial < o.trials; trial++) {
    const { dir, cleanup } = await tmpDir('plumline-kills-');
    try {
      await writeFile(join(dir, 'p.yaml'), yaml);
      kills += await runWithRandomKills(dir, { attempts: o.killsPerTrial, minMs: 50, spreadMs: 600, logLevel: 'info', armOn: /first checkpoint committed/ });
      const ids = await readOutputIds(dir);
      if (ids.length !== new Set(ids).size) {
        // Which records came twice tells where a position was lost (their kind and the first ids).
        const seen = new Set<string>();
        const twice = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
        console.log(`trial ${trial}: ${twice.length} records twice, e.g. ${twice.slice(0, 3).join(' ')}`);
      }
      expect({ trial, duplicated: ids.length - new Set(ids).size, count: ids.length }).toEqual({ trial, duplicated: 0, count: expected.length });
      expect(ids).toEqual(expected);
    } finally {
      await cleanup();
    }
  }
  return { expected, kills };
}
