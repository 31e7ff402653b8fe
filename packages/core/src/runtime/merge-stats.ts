import { emptyStats, type ComponentStats } from '../telemetry.js';

/**
 * Per component, the counters of several copies of one pipeline added up (the tasks of a
 * `TaskPipeline`): counts sum, the checkpoint lag is the worst copy's, partitions' backlogs are
 * listed side by side (each partition is one task's), progress adds up when the unit agrees,
 * what operators hold adds up, the next poll is the soonest and the last error the latest.
 */
export function mergeStats(all: readonly Record<string, ComponentStats>[]): Record<string, ComponentStats> {
  const out: Record<string, ComponentStats> = {};
  for (const stats of all) {
    for (const [id, s] of Object.entries(stats)) {
      const m = (out[id] ??= emptyStats());
      m.eventsIn += s.eventsIn;
      m.eventsOut += s.eventsOut;
      m.bytesOut += s.bytesOut;
      m.errors += s.errors;
      m.retries += s.retries;
      m.deadLettered += s.deadLettered;
      m.inFlightBatches += s.inFlightBatches;
      m.checkpointLagSec = Math.max(m.checkpointLagSec, s.checkpointLagSec);
      if (s.backlog) m.backlog = { ...m.backlog, ...s.backlog };
      for (const [what, n] of Object.entries(s.holding ?? {})) (m.holding ??= {})[what] = (m.holding?.[what] ?? 0) + n;
      if (s.nextPollAtMs !== undefined) m.nextPollAtMs = Math.min(m.nextPollAtMs ?? Number.POSITIVE_INFINITY, s.nextPollAtMs);
      if (s.lastError && (!m.lastError || s.lastError.atMs >= m.lastError.atMs)) m.lastError = s.lastError;
      if (s.progress) {
        m.progress = m.progress && m.progress.unit === s.progress.unit ? { done: m.progress.done + s.progress.done, total: m.progress.total + s.progress.total, unit: s.progress.unit } : { ...s.progress };
      }
    }
  }
  return out;
}
