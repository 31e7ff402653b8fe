import { mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PipelineError } from '@plumline/core';
import { processAlive } from '@plumline/core/util';
import { createOwnerFile, parseFixedOwner, readOwnerFile, writeOwnerFile, type OwnerFileText } from './owner-file-io.js';

/** The owner file of a path template's directory (a fixed path's is `.<file name>.plumline-owner`). */
export const DIR_OWNER_FILE = '.plumline-owner';
const FIXED_OWNER_SUFFIX = '.plumline-owner';

/** Which pipeline renders files under a directory: its sinks with their templates, and the process running it now (0: none). */
interface DirOwner {
  pipeline: string;
  sinks: Record<string, string>;
  pid: number;
}

/** Another pipeline's claim on files this sink could write. */
export interface ForeignClaim {
  readonly ownerFile: string;
  readonly pipeline: string;
  /** Who claims what, for the error: `pipeline "a" claims out for sink "s" (path "…"), running in process 12`. */
  readonly what: string;
}

/** A path template's directory claimed by a sink (see {@link claimTemplateDir}). */
export interface TemplateClaim {
  readonly dir: string;
  readonly ownerFile: string;
  /** Clears the running process from the claim (the claim stays). Idempotent. */
  release(): Promise<void>;
}

/**
 * The directory every file of a path template lands under: its fixed text up to the last `/`
 * before the first `{{` or `%` (a rendered field never holds a `/` nor is `.` or `..`,
 * path-template.ts), one level up for each `..` the text after it climbs.
 */
export function templateDir(template: string): string {
  const prefix = template.split(/\{\{|%/)[0]!;
  const cut = prefix.lastIndexOf('/');
  let dir = resolve(cut >= 0 ? prefix.slice(0, cut + 1) : '.');
  for (const part of template.slice(cut + 1).split('/')) if (part === '..') dir = dirname(dir);
  return dir;
}

/** True for a record of sink → template, as a directory's owner file lists them. */
function isTemplateRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && Object.values(v).every((t) => typeof t === 'string');
}

function parseDirOwner(path: string, text: OwnerFileText): DirOwner | undefined {
  if (text.state === 'absent') return undefined;
  if (text.state === 'json') {
    const o = text.value;
    const { pipeline, sinks, pid } = o;
    // Built from the fields checked (any other key of the file kept, as it was).
    if (typeof pipeline === 'string' && typeof pid === 'number' && Number.isSafeInteger(pid) && isTemplateRecord(sinks)) return { ...o, pipeline, sinks, pid };
  }
  throw new PipelineError('FILE_PATH_IN_USE', `${path} does not say which pipeline writes the files under ${dirname(path)}: delete it if no other pipeline writes there`, { retriable: false, fields: { file: path } });
}

/** Directory claims held by sinks of this process, counted (two sinks of one pipeline may share one). */
const activeHere = new Map<string, number>();

function running(pid: number, path: string): string {
  if (activeHere.has(path) || pid === process.pid) return ', running in this process';
  return pid !== 0 && processAlive(pid) ? `, running in process ${pid}` : '';
}

function dirClaim(path: string, o: DirOwner): ForeignClaim {
  const sinks = Object.entries(o.sinks).map(([s, t]) => `sink "${s}" (path "${t}")`).join(', ');
  return { ownerFile: path, pipeline: o.pipeline, what: `pipeline "${o.pipeline}" claims ${dirname(path)} for ${sinks}${running(o.pid, path)}` };
}

function fixedClaim(path: string, o: { pipeline: string; sink: string; pid: number }): ForeignClaim {
  const file = join(dirname(path), basename(path).slice(1, -FIXED_OWNER_SUFFIX.length));
  return { ownerFile: path, pipeline: o.pipeline, what: `sink "${o.sink}" of pipeline "${o.pipeline}" writes ${file}${running(o.pid, path)}` };
}

/** A directory on the way up that cannot be read holds no claim we could honour; anything else is told. */
function notThere(err: unknown): boolean {
  return ['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
}

async function readIfThere(path: string): Promise<OwnerFileText> {
  try {
    return await readOwnerFile(path);
  } catch (err) {
    if (notThere(err)) return { state: 'absent' };
    throw err;
  }
}

/** The nearest claim of another pipeline on `dir` or a directory above it: a template there may render files here. */
export async function foreignClaimAbove(dir: string, pipeline: string): Promise<ForeignClaim | undefined> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const path = join(d, DIR_OWNER_FILE);
    const o = parseDirOwner(path, await readIfThere(path));
    if (o && o.pipeline !== pipeline) return dirClaim(path, o);
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Another pipeline's claim on `file` itself (its fixed-path owner file, or another sink's) or on a
 * directory above it. Asked before a templated sink opens a new file and before recovery cuts one.
 */
export async function foreignClaimOn(file: string, pipeline: string, sink: string): Promise<ForeignClaim | undefined> {
  const path = join(dirname(file), `.${basename(file)}${FIXED_OWNER_SUFFIX}`);
  const fixed = parseFixedOwner(path, await readIfThere(path));
  if (fixed && (fixed.pipeline !== pipeline || fixed.sink !== sink)) return fixedClaim(path, fixed);
  return foreignClaimAbove(dirname(file), pipeline);
}

/**
 * The first claim of another pipeline below `dir`: a template's directory or a fixed path. Lists
 * the tree once (symbolic links not followed), at start only.
 */
async function foreignClaimBelow(dir: string, pipeline: string, self: string): Promise<ForeignClaim | undefined> {
  const pending = [dir];
  while (pending.length > 0) {
    const d = pending.pop()!;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if (notThere(err)) continue;
      throw err;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) pending.push(path);
      else if (!e.isFile() || path === self || !e.name.endsWith(FIXED_OWNER_SUFFIX)) continue;
      else if (e.name === DIR_OWNER_FILE) {
        const o = parseDirOwner(path, await readOwnerFile(path));
        if (o && o.pipeline !== pipeline) return dirClaim(path, o);
      } else {
        const o = parseFixedOwner(path, await readOwnerFile(path));
        if (o && o.pipeline !== pipeline) return fixedClaim(path, o);
      }
    }
  }
  return undefined;
}

/**
 * FILE_PATH_IN_USE: `file` (a file, or with `template` the template's directory) is claimed by
 * another pipeline; `after` says what was (not) done.
 */
export function claimedByAnother(sink: string, pipeline: string, file: string, c: ForeignClaim, o: { template?: string; after?: string } = {}): PipelineError {
  const target = o.template === undefined ? file : `under ${file} (path "${o.template}")`;
  return new PipelineError(
    'FILE_PATH_IN_USE',
    `sink "${sink}" of pipeline "${pipeline}" cannot write ${target}: ${c.what} (${c.ownerFile}).${o.after ? ` ${o.after}.` : ''} Two pipelines writing one directory tree could write the same files, and each one's recovery would cut what the other committed: give each pipeline a directory of its own; if "${c.pipeline}" no longer writes there, delete ${c.ownerFile}`,
    { retriable: false, fields: { file, owner: c.ownerFile } },
  );
}

/**
 * Another pipeline's claim on the directory `template` renders under or on one above it, read only;
 * also hands back the directory's own claim as read (absent when the directory is not there).
 */
async function foreignTemplateClaim(template: string, pipeline: string, sink: string): Promise<{ own: DirOwner | undefined; refused?: PipelineError }> {
  const dir = templateDir(template);
  const path = join(dir, DIR_OWNER_FILE);
  const above = dirname(dir) === dir ? undefined : await foreignClaimAbove(dirname(dir), pipeline);
  if (above) return { own: undefined, refused: claimedByAnother(sink, pipeline, dir, above, { template }) };
  const own = parseDirOwner(path, await readIfThere(path));
  if (own && own.pipeline !== pipeline) return { own, refused: claimedByAnother(sink, pipeline, dir, dirClaim(path, own), { template }) };
  return { own };
}

/**
 * The FILE_PATH_IN_USE a start would meet on the directory `template` renders under, from a claim
 * of another pipeline (on it, above it, or below it), without writing anything: validate's check.
 * A second process of the same pipeline is not one: validating a running pipeline's file is fine.
 */
export async function templateDirInUse(template: string, pipeline: string, sink: string): Promise<PipelineError | undefined> {
  const { refused } = await foreignTemplateClaim(template, pipeline, sink);
  if (refused) return refused;
  const dir = templateDir(template);
  const below = await foreignClaimBelow(dir, pipeline, join(dir, DIR_OWNER_FILE));
  return below ? claimedByAnother(sink, pipeline, dir, below, { template }) : undefined;
}

/**
 * Claims the directory a path template renders under (templateDir) for pipeline `pipeline`, or
 * refuses: a claim of another pipeline on that directory, on one above it, or on anything below
 * it (a template's directory or a fixed path) means the two could write the same files, and
 * each one's recovery would cut what the other committed. Sinks of one pipeline share the claim
 * (validate compares their paths). The claim outlives the run, like a fixed path's.
 */
export async function claimTemplateDir(template: string, pipeline: string, sink: string): Promise<TemplateClaim> {
  const dir = templateDir(template);
  await mkdir(dir, { recursive: true });
  const path = join(dir, DIR_OWNER_FILE);
  const { own, refused } = await foreignTemplateClaim(template, pipeline, sink);
  if (refused) throw refused;
  if (own && own.pid !== 0 && own.pid !== process.pid && processAlive(own.pid)) {
    throw new PipelineError('FILE_PATH_IN_USE', `files under ${dir} (path "${template}") are written by another process of pipeline "${pipeline}" (process ${own.pid}, ${path}): stop it first, or give each its own directory`, { retriable: false, fields: { file: dir, pid: own.pid } });
  }
  const below = await foreignClaimBelow(dir, pipeline, path);
  if (below) throw claimedByAnother(sink, pipeline, dir, below, { template });
  const mine: DirOwner = { pipeline, sinks: { ...own?.sinks, [sink]: template }, pid: process.pid };
  if (!own && !(await createOwnerFile(path, mine))) return claimTemplateDir(template, pipeline, sink);
  if (own) await writeOwnerFile(path, mine);
  activeHere.set(path, (activeHere.get(path) ?? 0) + 1);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const holders = (activeHere.get(path) ?? 1) - 1;
    if (holders > 0) return void activeHere.set(path, holders);
    activeHere.delete(path);
    try {
      const cur = parseDirOwner(path, await readOwnerFile(path));
      if (cur?.pipeline === pipeline) await writeOwnerFile(path, { ...cur, pid: 0 });
    } catch {
      // The claim stays with our process noted: a later start of this pipeline sees it is not alive.
    }
  };
  return { dir, ownerFile: path, release };
}

/**
 * Rendered files of this process's templated sinks, by pipeline and file: the sink that has the
 * file in its commit index, with its template. Two sinks of one pipeline share the directory
 * claim (validate compares templates as written, and `out/{{kind}}.ndjson` and
 * `out/{{source}}.ndjson` read differently yet may render one file), so the claim alone cannot
 * tell them apart. Bounded by what the sinks' indexes hold: a file a sink forgets is let go.
 */
const renderedBy = new Map<string, { sink: string; template: string }>();
const renderedKey = (pipeline: string, file: string): string => `${pipeline}\0${file}`;

/**
 * Notes that sink `sink` (path `template`) of `pipeline` writes the rendered `file`, or refuses
 * with FILE_PATH_IN_USE when another sink of the pipeline does: each recovers only its own bytes
 * and would cut the other's. Asked before the sink opens a file new to it, and at recovery.
 */
export function noteRenderedFile(file: string, pipeline: string, sink: string, template: string): void {
  const key = renderedKey(pipeline, file);
  const other = renderedBy.get(key);
  if (other === undefined) return void renderedBy.set(key, { sink, template });
  if (other.sink === sink) return;
  throw new PipelineError(
    'FILE_PATH_IN_USE',
    `sink "${sink}" of pipeline "${pipeline}" cannot write ${file}: sink "${other.sink}" of this pipeline writes it (its path "${other.template}" renders it as "${template}" does). Each sink recovers only its own bytes after a crash and would cut the other's: give each sink its own directory or a fixed distinct prefix (e.g. "out/${sink}/…" and "out/${other.sink}/…")`,
    { retriable: false, fields: { file, owner: `${pipeline}/${other.sink}` } },
  );
}

/** Lets go of a rendered file the sink no longer holds in its index (or of all of them, at close). */
export function forgetRenderedFiles(pipeline: string, sink: string, files: Iterable<string>): void {
  for (const file of files) {
    const key = renderedKey(pipeline, file);
    if (renderedBy.get(key)?.sink === sink) renderedBy.delete(key);
  }
}

/** Lets go of every rendered file of a sink (its close, or a start that failed). */
export function forgetAllRenderedFiles(pipeline: string, sink: string): void {
  for (const [key, v] of renderedBy) if (v.sink === sink && key.startsWith(`${pipeline}\0`)) renderedBy.delete(key);
}
