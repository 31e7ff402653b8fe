import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { PipelineError } from '@plumline/core';
import { processAlive } from '@plumline/core/util';
import { createOwnerFile, parseFixedOwner, readOwnerFile, writeOwnerFile, type FixedOwner } from './owner-file-io.js';
import { claimedByAnother, foreignClaimAbove } from './template-owner.js';

/** The owner file of `file`: hidden, next to it, so it moves and is backed up with the output. */
export function ownerFile(file: string): string {
  return join(dirname(file), `.${basename(file)}.plumline-owner`);
}

/** Owner files claimed by sinks of this process and not released: their pid is ours, yet they run. */
const activeHere = new Set<string>();

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
  const mine: FixedOwner = { pipeline, sink, pid: process.pid };
  const { owner, refused } = await foreignOwner(file, pipeline, sink);
  if (refused) throw refused;
  if (owner && owner.pid !== 0 && owner.pid !== process.pid && processAlive(owner.pid)) {
    throw new PipelineError('FILE_PATH_IN_USE', `${file} is written by another process of pipeline "${pipeline}" (process ${owner.pid}, ${path}): stop it first, or give each its own path`, { retriable: false, fields: { file, pid: owner.pid } });
  }
  if (!owner && !(await createOwnerFile(path, mine))) return claimOutput(file, pipeline, sink);
  if (owner) await writeOwnerFile(path, mine);
  // Checked once this claim is on disk: of two sinks starting at once, the later one sees the other's.
  const rotationClash = await foreignRotationClaim(file, pipeline, sink).catch((err: unknown) => err as Error);
  if (rotationClash) {
    await (owner ? writeOwnerFile(path, owner) : unlink(path)).catch(() => {});
    throw rotationClash;
  }
  activeHere.add(path);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    activeHere.delete(path);
    await writeOwnerFile(path, { ...mine, pid: 0 }).catch(() => {});
  };
  return { file, ownerFile: path, ownedBefore: owner !== undefined, release };
}

/**
 * What stands in the way of sink `sink` of `pipeline` claiming `file`, read only (claimOutput,
 * and validate before it): another pipeline's template claim on a directory above, or another
 * sink's claim on the file. Also hands back the file's owner as read.
 */
async function foreignOwner(file: string, pipeline: string, sink: string): Promise<{ owner: FixedOwner | undefined; refused?: PipelineError }> {
  // Another pipeline's path template rendering under a directory above may write this very file.
  const above = await foreignClaimAbove(dirname(file), pipeline);
  if (above) return { owner: undefined, refused: claimedByAnother(sink, pipeline, file, above) };
  const path = ownerFile(file);
  const owner = parseFixedOwner(path, await readOwnerFile(path));
  if (owner && (owner.pipeline !== pipeline || owner.sink !== sink)) {
    const running = activeHere.has(path) ? ', running in this process' : owner.pid !== 0 && owner.pid !== process.pid && processAlive(owner.pid) ? `, running in process ${owner.pid}` : '';
    const refused = new PipelineError(
      'FILE_PATH_IN_USE',
      `sink "${sink}" of pipeline "${pipeline}" cannot write ${file}: sink "${owner.sink}" of pipeline "${owner.pipeline}" writes it${running} (${path}). Two sinks on one file each recover only their own bytes and would cut the other's: give this sink its own path; if "${owner.pipeline}" no longer writes it, delete ${path}`,
      { retriable: false, fields: { file, owner: `${owner.pipeline}/${owner.sink}` } },
    );
    return { owner, refused };
  }
  return { owner };
}

/**
 * The FILE_PATH_IN_USE a start would meet on `file` from a claim of another pipeline or sink
 * (above it, on it, on a rotation part of it), without writing anything: validate's check. A
 * second process of the same sink is not one: validating a running pipeline's file is fine.
 */
export async function fixedPathInUse(file: string, pipeline: string, sink: string): Promise<PipelineError | undefined> {
  const { refused } = await foreignOwner(file, pipeline, sink);
  return refused ?? (await foreignRotationClaim(file, pipeline, sink));
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

/**
 * The files `file` would be a rotation part of (file-sink.ts, partFile: `x.ndjson` part 2 is
 * `x.2.ndjson`, `x` part 2 is `x.2`, with `.gz` kept last).
 */
export function rotationBasesOf(file: string): string[] {
  const gz = file.endsWith('.gz') ? '.gz' : '';
  const bases: string[] = [];
  const forms: [string, string][] = gz ? [[file.slice(0, -3), gz], [file, '']] : [[file, '']];
  for (const [name, tail] of forms) {
    const ext = extname(name);
    const stem = ext ? name.slice(0, -ext.length) : name;
    const m = /^(.+)\.[1-9]\d*$/.exec(stem);
    if (ext && m && !basename(m[1]!).startsWith('.') && basename(m[1]!) !== '') bases.push(`${m[1]}${ext}${tail}`);
    // `x.2` is part 2 of `x` only when `x` has no extension of its own (partFile puts the number before it).
    const whole = /^(.+)\.[1-9]\d*$/.exec(name);
    if (whole && extname(whole[1]!) === '') bases.push(`${whole[1]}${tail}`);
  }
  return [...new Set(bases)].filter((b) => b !== file);
}

/**
 * A fixed path's claim covers its rotation parts: another pipeline (or sink) claiming the file
 * this one is a part of, or a part of this one, would append to a file the other rotates into,
 * and each one's recovery would cut the other's bytes.
 */
async function foreignRotationClaim(file: string, pipeline: string, sink: string): Promise<PipelineError | undefined> {
  const foreign = (o: FixedOwner | undefined): o is FixedOwner => o !== undefined && (o.pipeline !== pipeline || o.sink !== sink);
  for (const base of rotationBasesOf(file)) {
    const path = ownerFile(base);
    const o = parseFixedOwner(path, await readOwnerFile(path));
    if (foreign(o)) return rotationInUse(sink, pipeline, file, `it is a rotation part of ${base}, which sink "${o.sink}" of pipeline "${o.pipeline}" writes (${path})`, o);
  }
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith('.') || !name.endsWith('.plumline-owner') || name === '.plumline-owner') continue;
    const part = join(dirname(file), name.slice(1, -'.plumline-owner'.length));
    if (!rotationBasesOf(part).includes(file)) continue;
    const path = join(dirname(file), name);
    const o = parseFixedOwner(path, await readOwnerFile(path));
    if (foreign(o)) return rotationInUse(sink, pipeline, file, `its rotation part ${part} is written by sink "${o.sink}" of pipeline "${o.pipeline}" (${path})`, o);
  }
  return undefined;
}

function rotationInUse(sink: string, pipeline: string, file: string, why: string, o: FixedOwner): PipelineError {
  return new PipelineError(
    'FILE_PATH_IN_USE',
    `sink "${sink}" of pipeline "${pipeline}" cannot write ${file}: ${why}. A fixed path's claim covers its rotation parts (<name>.<n><ext>), rotating or not: give this sink a path of its own that is no rotation part of another's`,
    { retriable: false, fields: { file, owner: `${o.pipeline}/${o.sink}` } },
  );
}
