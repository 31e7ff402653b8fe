import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { rotationBasesOf } from './output-owner.js';
import { templateDir } from './template-owner.js';

/** Where a commit index says the output was written, and where the config now points. */
export interface MovedOutput {
  readonly oldDir: string;
  readonly newDir: string;
  /** A file the index names, in the old place. */
  readonly file: string;
}

/**
 * The commit index names files by absolute path; a working folder copied or moved with its
 * state (`cp -a prod staging`) keeps naming the original's files, and the copy would append to
 * them and the original's next start cut that. Found when an indexed file is not where a relative
 * `path` now resolves, yet lies at the same place under another folder (same name, same relative
 * directory): a changed `path` (another name or directory) is not taken for a move. An absolute
 * `path` points to one place wherever the pipeline runs: nothing to tell.
 */
export function movedOutput(template: string, fixedFile: string | undefined, files: Iterable<string>, cwd = process.cwd()): MovedOutput | undefined {
  if (isAbsolute(template)) return undefined;
  // templateDir resolves from the process's working directory; `cwd` is that one unless a test says otherwise.
  const newDir = fixedFile === undefined ? resolve(cwd, relative(process.cwd(), templateDir(template))) : dirname(fixedFile);
  const relDir = relative(cwd, newDir);
  if (relDir.startsWith('..') || isAbsolute(relDir)) return undefined;
  for (const file of files) {
    if (file.startsWith(newDir + sep)) {
      if (fixedFile === undefined || dirname(file) === newDir) continue;
    }
    if (fixedFile !== undefined) {
      const name = basename(fixedFile);
      const sameName = basename(file) === name || rotationBasesOf(file).includes(`${dirname(file)}${sep}${name}`);
      const oldDir = dirname(file);
      if (sameName && oldDir !== newDir && (relDir === '' || oldDir.endsWith(sep + relDir))) return { oldDir, newDir, file };
      continue;
    }
    // A template at the working directory itself (relDir ''): no directory to recognise the old place by.
    if (relDir === '') continue;
    const i = file.lastIndexOf(sep + relDir + sep);
    if (i >= 0) return { oldDir: file.slice(0, i + 1 + relDir.length), newDir, file };
  }
  return undefined;
}
