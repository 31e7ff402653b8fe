import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { JsonValue } from '../util/json.js';
import { fsyncDir, writeFileAtomic } from '../util/fs-durable.js';
import { lockDirectory, LOCK_FILE } from './directory-lock.js';
import { toEntries } from './state-entries.js';
import { stateCorrupt } from './state-corrupt.js';
import { decodeKey } from './state-key-names.js';
import { encodeRecord } from './state-record-log.js';

/** The checkpoints file of the layout before state was kept per pipeline (one per state directory). */
export const LEGACY_CHECKPOINTS = 'checkpoints.json';
/** Where an adopting pipeline keeps the legacy value files it took over (its claim, and a record). */
export const LEGACY_DIR = 'legacy';

export interface LegacyAdoption {
  readonly dir: string;
  readonly pipelineDir: string;
  readonly recordLog: string;
  readonly pipelineId: string;
  readonly sourceIds?: readonly string[];
  readonly logger?: Logger;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * State written before it was kept per pipeline: `checkpoints.json`, `<key>.json` values and
 * `<key>.log` logs directly in the state directory, with no word of the pipeline that wrote them.
 * A pipeline that has no state of its own adopts them when every source the legacy checkpoints
 * name is one of its sources (the pipeline that wrote them has them all; another pipeline
 * rarely does). Anything else leaves them where they are, with a warning saying why.
 *
 * The adoption first moves `checkpoints.json` into the pipeline's `legacy/` directory: that
 * rename is the claim, after which no other pipeline can take it. Then the other files move
 * (values to `legacy/`, logs beside the pipeline's record log), and the record log is written
 * from the values. Interrupted at any point, the same pipeline's next start finishes it.
 */
export async function adoptLegacyState(a: LegacyAdoption): Promise<void> {
  const claimed = join(a.pipelineDir, LEGACY_DIR, LEGACY_CHECKPOINTS);
  if (!(await exists(claimed))) {
    if (!(await exists(join(a.dir, LEGACY_CHECKPOINTS)))) return;
    const lock = await lockDirectory(a.dir, 'state directory (written before state was kept per pipeline)');
    try {
      if (!(await claim(a, claimed))) return;
      await moveLegacyFiles(a);
    } finally {
      await lock.release();
    }
  } else {
    await moveLegacyFiles(a);
  }
  await writeRecordLog(a);
}

/** Moves the legacy checkpoints into the pipeline's directory if the pipeline has their sources; false when it does not. */
async function claim(a: LegacyAdoption, claimed: string): Promise<boolean> {
  const file = join(a.dir, LEGACY_CHECKPOINTS);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return false; // adopted meanwhile by a pipeline that held the lock before us
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    value = undefined;
  }
  // Damaged, it can be no pipeline's: starting without it would read everything again beside
  // the output it covers. An operator decides (restore it, or move it away).
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw stateCorrupt(file, 'it was written before state was kept per pipeline and is not an object of checkpoints');
  const ids = Object.keys(value);
  const missing = ids.filter((id) => !a.sourceIds?.includes(id));
  if (ids.length === 0 || missing.length > 0 || !a.sourceIds) {
    a.logger?.warn(
      { file, legacySources: ids, pipelineSources: a.sourceIds ?? [] },
      `state: ${file} was written before state was kept per pipeline and is not adopted by pipeline "${a.pipelineId}": ${ids.length === 0 ? 'it names no source' : `its checkpoints are for sources this pipeline does not have (${missing.join(', ')})`}; the pipeline that wrote it adopts it when it starts (docs/operations.md#state-written-before-it-was-kept-per-pipeline)`,
    );
    return false;
  }
  await mkdir(join(a.pipelineDir, LEGACY_DIR), { recursive: true });
  await rename(file, claimed);
  await fsyncDir(join(a.pipelineDir, LEGACY_DIR));
  await fsyncDir(a.dir);
  a.logger?.warn({ file, adoptedAs: a.pipelineDir, sources: ids }, `state: pipeline "${a.pipelineId}" adopted the state written before state was kept per pipeline (${file}): its sources (${ids.join(', ')}) are this pipeline's; the files moved to ${a.pipelineDir}`);
  return true;
}

/** Moves the other legacy files: values (`*.json`) to `legacy/`, logs (`*.log`) beside the record log. */
async function moveLegacyFiles(a: LegacyAdoption): Promise<void> {
  const legacyDir = join(a.pipelineDir, LEGACY_DIR);
  for (const name of await readdir(a.dir)) {
    if (name === LOCK_FILE || name.includes('.tmp-')) continue;
    if (name.endsWith('.json')) await rename(join(a.dir, name), join(legacyDir, name));
    else if (name.endsWith('.log')) await rename(join(a.dir, name), join(a.pipelineDir, name));
  }
  await fsyncDir(legacyDir);
  await fsyncDir(a.pipelineDir);
  await fsyncDir(a.dir);
}

/** The pipeline's record log, made from the adopted values: one record per key. */
async function writeRecordLog(a: LegacyAdoption): Promise<void> {
  const legacyDir = join(a.pipelineDir, LEGACY_DIR);
  const records: string[] = [];
  for (const name of (await readdir(legacyDir)).sort()) {
    if (!name.endsWith('.json')) continue;
    const key = decodeKey(name.slice(0, -'.json'.length));
    let value: JsonValue;
    try {
      value = JSON.parse(await readFile(join(legacyDir, name), 'utf8')) as JsonValue;
    } catch (err) {
      throw stateCorrupt(join(legacyDir, name), `it was written before state was kept per pipeline and is not valid JSON (${(err as Error).message})`);
    }
    records.push(encodeRecord(a.pipelineId, records.length + 1, { key, set: [...toEntries(value)], removed: [] }));
  }
  await writeFileAtomic(a.recordLog, records.join(''));
}
