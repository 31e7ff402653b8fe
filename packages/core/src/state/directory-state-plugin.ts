import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_STATE_PATH } from '../config/pipeline-schema.js';
import { defineStateStore } from '../plugin.js';
import { DirectoryStateStore } from './directory-state-store.js';

export const directoryStateConfigSchema = z.strictObject({
  path: z.string().min(1).default(DEFAULT_STATE_PATH).describe('Directory for checkpoints and operator state, relative to the working directory.'),
});

/**
 * `state: { type: directory, path: .plumline/state }` — the embedded default: atomic,
 * fsynced files in one directory, locked against a second process.
 */
export const directoryStatePlugin = defineStateStore({
  type: 'directory',
  description: 'Keeps checkpoints and operator state in a local directory (atomic, fsynced writes).',
  configSchema: directoryStateConfigSchema,
  create(config) {
    return new DirectoryStateStore(resolve(config.path));
  },
});
