import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PipelineError } from '@plumline/core';
import { createFileAtomic, writeFileAtomic } from '@plumline/core/util';

/** What an owner file held: absent, JSON, or text that is not JSON (the caller says what to do). */
export type OwnerFileText = { state: 'absent' } | { state: 'json'; value: Record<string, unknown> } | { state: 'unreadable' };

/** Reads an owner file; errors other than its absence propagate (a directory we may not read is not "no owner"). */
export async function readOwnerFile(path: string): Promise<OwnerFileText> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw err;
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { state: 'json', value: value as Record<string, unknown> };
  } catch {
    // Told by the caller, with the file to look at.
  }
  return { state: 'unreadable' };
}

/** Replaces an owner file atomically and durably; a failed attempt leaves no temporary file behind. */
export async function writeOwnerFile(path: string, value: object): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value));
}

/** Creates the owner file unless one appeared meanwhile (a sink starting at the same moment): false then. */
export function createOwnerFile(path: string, value: object): Promise<boolean> {
  // Never an empty or half-written owner file after a kill: every later start would refuse it.
  return createFileAtomic(path, JSON.stringify(value));
}

/** A fixed path's owner file: one sink of one pipeline writes the file, and the process running it now (0: none). */
export interface FixedOwner {
  pipeline: string;
  sink: string;
  pid: number;
}

/** The owner of a fixed path, from its owner file's text; one it cannot read is refused with the file to look at. */
export function parseFixedOwner(path: string, text: OwnerFileText): FixedOwner | undefined {
  if (text.state === 'absent') return undefined;
  if (text.state === 'json') {
    const o = text.value;
    const { pipeline, sink, pid } = o;
    // Built from the fields checked (any other key of the file kept, as it was).
    if (typeof pipeline === 'string' && typeof sink === 'string' && typeof pid === 'number' && Number.isSafeInteger(pid)) return { ...o, pipeline, sink, pid };
  }
  throw new PipelineError('FILE_PATH_IN_USE', `${path} does not say which sink writes the file next to it: delete it if no other pipeline writes that file`, { retriable: false, fields: { file: path } });
}
