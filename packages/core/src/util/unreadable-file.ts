import { accessSync, constants, statSync } from 'node:fs';

/**
 * Why `file` cannot be read as a file (absent, a directory, no permission), in words for a
 * config error, or undefined when it can. For a plugin's `preflight`: the check its `create`
 * makes when it reads the file, made at validate.
 */
export function unreadableFileProblem(file: string): string | undefined {
  try {
    if (statSync(file).isDirectory()) return `${file} is a directory, not a file`;
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'no permission to read it' : code === 'ENOTDIR' ? 'a part of the path is a file' : (err as Error).message;
    return `cannot read ${file} (${code}: ${why})`;
  }
}
