import type { SourcePlugin } from '../plugin.js';
import { stateCorrupt } from '../state/state-corrupt.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.js';
import type { StoredCheckpoint } from './source-tracker.js';

/** `cp` as a checkpoint as the runtime writes it (`{ seq, position, version? }`), or why it is not one. */
function storedCheckpoint(cp: JsonValue): StoredCheckpoint | string {
  if (!isJsonObject(cp)) return `it is ${Array.isArray(cp) ? 'a list' : JSON.stringify(cp)}, not { seq, position }`;
  const extra = Object.keys(cp).filter((k) => k !== 'seq' && k !== 'position' && k !== 'version');
  if (extra.length) return `it has keys the runtime never writes (${extra.join(', ')})`;
  const { seq, position, version } = cp;
  if (seq === undefined) return 'it has no seq (the batch number it covers)';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return `its seq is ${JSON.stringify(seq)}, not a whole number ≥ 0`;
  if (position === undefined) return 'it has no position';
  if (!('version' in cp)) return { seq, position };
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return `its version is ${JSON.stringify(version)}, not a whole number ≥ 1`;
  return { seq, position, version };
}

/** The checkpoints as the JSON value stored under CHECKPOINTS_KEY (what {@link checkStoredCheckpoints} reads back). */
export function checkpointsJson(checkpoints: Readonly<Record<string, StoredCheckpoint>>): JsonObject {
  const out: JsonObject = {};
  for (const [id, { seq, position, version }] of Object.entries(checkpoints)) out[id] = version === undefined ? { seq, position } : { seq, position, version };
  return out;
}

/**
 * The stored checkpoints, checked to be what the runtime writes: an object of `{ seq, position,
 * version? }` per source. Anything else stops the start with STATE_CORRUPT naming `where`: a
 * checkpoint that is wrong must not be read as "nothing committed" (output would be removed)
 * nor as a position the source never produced.
 */
export function checkStoredCheckpoints(stored: JsonValue | undefined, where: string): Record<string, StoredCheckpoint> {
  if (stored === undefined) return {};
  if (!isJsonObject(stored)) throw stateCorrupt(where, `the checkpoints are ${JSON.stringify(stored).slice(0, 80)}, not an object of checkpoints per source`);
  const out: Record<string, StoredCheckpoint> = {};
  for (const [id, cp] of Object.entries(stored)) {
    const checkpoint = storedCheckpoint(cp);
    if (typeof checkpoint === 'string') throw stateCorrupt(where, `the checkpoint of source "${id}" is not one the runtime writes: ${checkpoint}`);
    out[id] = checkpoint;
  }
  return out;
}

/**
 * Checks each source's position against its plugin's `checkpointSchema` (after migration), so a
 * position the plugin never wrote (a negative offset, another plugin's shape) stops the start.
 */
export function checkPositions(sources: readonly { id: string; plugin: SourcePlugin }[], checkpoints: Readonly<Record<string, StoredCheckpoint>>, where: string): void {
  for (const { id, plugin } of sources) {
    const cp = checkpoints[id];
    if (!cp || cp.position === null || !plugin.checkpointSchema) continue;
    const parsed = plugin.checkpointSchema.safeParse(cp.position);
    if (parsed.success) continue;
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ');
    throw stateCorrupt(where, `the checkpoint of source "${id}" is not a position a ${plugin.type} source writes (${JSON.stringify(cp.position).slice(0, 80)}: ${issues})`);
  }
}
