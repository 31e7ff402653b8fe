import { readFileSync } from 'node:fs';
import { ConfigError, ConfigErrors, isPlumlineError } from '@plumline/core';

function excerpt(err: ConfigError): string {
  const loc = err.location;
  if (!loc || loc.line < 1) return '';
  let text: string;
  try {
    text = readFileSync(loc.file, 'utf8');
  } catch {
    return '';
  }
  const line = text.split('\n')[loc.line - 1];
  if (line === undefined) return '';
  const num = String(loc.line);
  return `\n  ${num} | ${line}\n  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, loc.column - 1))}^`;
}

/** A config error as a user should read it: `file:line:col: key.path: what is wrong and what to do`, with the line quoted. */
export function formatError(err: unknown): string {
  if (err instanceof ConfigErrors) return err.errors.map((e) => `error: ${e.message}${excerpt(e)}`).join('\n');
  if (err instanceof ConfigError) return `error: ${err.message}${excerpt(err)}`;
  if (isPlumlineError(err)) return `error [${err.code}]: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}
