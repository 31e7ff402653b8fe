import { PipelineError } from '../errors.js';
import type { SourcePlugin } from '../plugin.js';
import type { JsonValue } from '../util/json.js';
import type { z } from 'zod';
import type { StoredCheckpoint } from './source-tracker.js';

/** The checkpoint version of a plugin that does not declare one. */
export const FIRST_CHECKPOINT_VERSION = 1;

/** The checkpoint version `plugin` reads and writes; a bad declaration is a bug in the plugin. */
export function checkpointVersionOf(plugin: SourcePlugin): number {
  const v = plugin.checkpointVersion ?? FIRST_CHECKPOINT_VERSION;
  if (!Number.isInteger(v) || v < 1) throw new Error(`source plugin "${plugin.type}" declares checkpointVersion ${String(v)}: expected a positive integer`);
  return v;
}

/**
 * The stored checkpoints with each source's brought to the version its plugin reads, through the
 * plugin's `migrateCheckpoint`. Checkpoints of sources no longer in the pipeline are kept as
 * they are. Throws (permanent: retrying reads the same checkpoint) when a checkpoint is newer
 * than its plugin, older with no migration, or the migration fails; the stored value is untouched.
 */
export function upgradeCheckpoints(sources: readonly { id: string; plugin: SourcePlugin }[], stored: Readonly<Record<string, StoredCheckpoint>>): Record<string, StoredCheckpoint> {
  const out: Record<string, StoredCheckpoint> = { ...stored };
  for (const { id, plugin } of sources) {
    const cp = stored[id];
    if (!cp) continue;
    const to = checkpointVersionOf(plugin);
    const from = cp.version ?? FIRST_CHECKPOINT_VERSION;
    if (from === to) continue;
    const fields = { component: id, plugin: plugin.type, version: from, supported: to };
    if (from > to) {
      throw new PipelineError('CHECKPOINT_TOO_NEW', `source "${id}": its stored checkpoint is version ${from}, written by a newer ${plugin.type} plugin than this one (version ${to}): run the newer version, or remove the checkpoint to start over`, { retriable: false, fields });
    }
    out[id] = withVersion(cp.seq, cp.position === null ? null : migrate(id, plugin, cp.position, from, to), to);
  }
  return out;
}

function migrate(id: string, plugin: SourcePlugin, position: JsonValue, from: number, to: number): JsonValue {
  const fields = { component: id, plugin: plugin.type, version: from, supported: to };
  if (!plugin.migrateCheckpoint) {
    throw new PipelineError('CHECKPOINT_VERSION_UNSUPPORTED', `source "${id}": its stored checkpoint is version ${from}, and this ${plugin.type} plugin (version ${to}) cannot migrate it: run the version that wrote it to the end of its range, or remove the checkpoint to start over`, { retriable: false, fields });
  }
  try {
    return plugin.migrateCheckpoint(position, from) as JsonValue;
  } catch (err) {
    throw new PipelineError('CHECKPOINT_MIGRATION_FAILED', `source "${id}": migrating its checkpoint from version ${from} to ${to} failed: ${(err as Error)?.message ?? String(err)}`, { retriable: false, cause: err, fields });
  }
}

/** A stored checkpoint; the version is written only when it is not the first, so stores written before versions existed read the same. */
export function withVersion(seq: number, position: JsonValue | null, version: number): StoredCheckpoint {
  return version === FIRST_CHECKPOINT_VERSION ? { seq, position } : { seq, position, version };
}
