import { StateError } from '../errors.js';

/** STATE_CORRUPT for `file`: what is wrong, and what an operator does about it (never: delete output). */
export function stateCorrupt(file: string, why: string): StateError {
  return new StateError(
    'STATE_CORRUPT',
    `state ${file} cannot be trusted: ${why}. Nothing was changed and no output was removed: stop, and restore this pipeline's state from a backup (docs/operations.md#backing-up-and-restoring-state), or move it away to start over (the sources then read from their beginning)`,
    { retriable: false, fields: { file } },
  );
}
