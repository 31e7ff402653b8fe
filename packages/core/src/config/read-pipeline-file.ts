import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { YamlDocument } from './yaml-document.js';

/**
 * A pipeline file as a plain object, `${VAR}` already interpolated, not yet validated: for tools
 * that derive a pipeline from a file (add a sink, cut out a subgraph) and then create it.
 */
export async function readPipelineFile(path: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read pipeline file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return YamlDocument.parse(text, path, env).value as Record<string, unknown>;
}
