import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_STATE_PATH } from '../config/pipeline-schema.js';
import { defineStateStore } from '../plugin.js';
import { DirectoryStateStore } from './directory-state-store.js';

/** Why `path` cannot be the state directory, judged from what is on disk now (validate reports it, located). */
function statePathProblem(path: string): string | undefined {
  let p = resolve(path);
  for (;;) {
    let st;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch {
      st = undefined; // ENOTDIR: a file further up; found on the way there
    }
    if (st) return st.isDirectory() ? undefined : `${p} is a file, not a directory: choose another state path or move the file`;
    const parent = dirname(p);
    if (parent === p) return undefined;
    p = parent;
  }
}

export const directoryStateConfigSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .default(DEFAULT_STATE_PATH)
    .superRefine((path, ctx) => {
      const problem = statePathProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe('Directory for checkpoints and operator state, relative to the working directory; each pipeline keeps its own in pipelines/<id>/.'),
});

/**
 * `state: { type: directory, path: .plumline/state }` — the embedded default: a directory per
 * pipeline id under `path`, each locked against a second process, with fsynced, checksummed records.
 */
export const directoryStatePlugin = defineStateStore({
  type: 'directory',
  description: 'Keeps checkpoints and operator state in a local directory (atomic, fsynced writes).',
  configSchema: directoryStateConfigSchema,
  create(config, ctx) {
    return new DirectoryStateStore(resolve(config.path), { pipelineId: ctx.pipelineId, sourceIds: ctx.sourceIds, logger: ctx.logger });
  },
});
