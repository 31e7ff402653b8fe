import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PipelineError } from '@plumline/core';
import { fsyncDir, processAlive } from '@plumline/core/util';

/** Who writes an output file: one sink of one pipeline, and the process running it now (0: none). */
interface Owner {
  pipeline: string;
  sink: string;
  pid: number;
}

/** The owner file of `file`: hidden, next to it, so it moves and is backed up with the output. */
export function ownerFile(file: string): string {
  return join(dirname(file), `.${basename(file)}.plumline-owner`);
}

/** Owner files claimed by sinks of this process and not released: their pid is ours, yet they run. */
const activeHere = new Set<string>();

async function readOwner(path: string): Promise<Owner | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o.pipeline === 'string' && typeof o.sink === 'string' && Number.isSafeInteger(o.pid)) return o as Owner;
  } catch {
    // Unreadable: told below, with the file to look at.
  }
  throw new PipelineError('FILE_PATH_IN_USE', `${path} does not say which sink writes the file next to it: delete it if no other pipeline writes that file`, { retriable: false, fields: { file: path } });
}

async function writeOwner(path: string, owner: Owner): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(owner));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Creates the owner file unless one appeared meanwhile (a sink starting at the same moment): false then. */
async function createOwner(path: string, owner: Owner): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(JSON.stringify(owner));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(dirname(path));
  return true;
}

/**
 * Claims `file` for sink `sink` of pipeline `pipeline`, or refuses: two sinks appending to one
 * file each keep an index of their own bytes, and one's recovery would cut what the other
 * wrote. The claim outlives the run (a second pipeline started later is refused too); the
 * running process is noted so that a second process of the same pipeline is refused while the
 * first one runs. Resolves with the release, which leaves the claim and clears the process, and
 * whether this sink had claimed the file before (it wrote there in an earlier run).
 */
export async function claimOutput(file: string, pipeline: string, sink: string): Promise<OutputClaim> {
  const path = ownerFile(file);
  const mine: Owner = { pipeline, sink, pid: process.pid };
  const owner = await readOwner(path);
  if (owner && (owner.pipeline !== pipeline || owner.sink !== sink)) {
    const running = activeHere.has(path) ? ', running in this process' : owner.pid !== 0 && owner.pid !== process.pid && processAlive(owner.pid) ? `, running in process ${owner.pid}` : '';
    throw new PipelineError(
      'FILE_PATH_IN_USE',
      `sink "${sink}" of pipeline "${pipeline}" cannot write ${file}: sink "${owner.sink}" of pipeline "${owner.pipeline}" writes it${running} (${path}). Two sinks on one file each recover only their own bytes and would cut the other's: give this sink its own path; if "${owner.pipeline}" no longer writes it, delete ${path}`,
      { retriable: false, fields: { file, owner: `${owner.pipeline}/${owner.sink}` } },
    );
  }
  if (owner && owner.pid !== 0 && owner.pid !== process.pid && processAlive(owner.pid)) {
    throw new PipelineError('FILE_PATH_IN_USE', `${file} is written by another process of pipeline "${pipeline}" (process ${owner.pid}, ${path}): stop it first, or give each its own path`, { retriable: false, fields: { file, pid: owner.pid } });
  }
  if (!owner && !(await createOwner(path, mine))) return claimOutput(file, pipeline, sink);
  if (owner) await writeOwner(path, mine);
  activeHere.add(path);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    activeHere.delete(path);
    await writeOwner(path, { ...mine, pid: 0 }).catch(() => unlink(`${path}.tmp-${process.pid}`).catch(() => {}));
  };
  return { file, ownerFile: path, ownedBefore: owner !== undefined, release };
}

/** A fixed output path claimed by a sink (see {@link claimOutput}). */
export interface OutputClaim {
  readonly file: string;
  readonly ownerFile: string;
  /** The owner file named this sink already: it wrote the file in an earlier run. */
  readonly ownedBefore: boolean;
  /** Clears the running process from the claim (the claim stays). Idempotent. */
  release(): Promise<void>;
}
