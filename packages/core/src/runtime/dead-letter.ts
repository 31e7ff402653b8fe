import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CallEvent, DeadLetter } from '../event.js';
import type { Sink, SinkBatch } from '../plugin.js';
import { lenientJson } from '../util/lenient-json.js';

let counter = 0;

/** A dead letter as it travels on the `dead_letter` stream. */
export function deadLetterEvent(dead: DeadLetter, component: string, nowMs: number): CallEvent {
  const now = new Date(nowMs).toISOString();
  return {
    id: `dead_letter:${component}:${nowMs.toString(36)}:${(counter++).toString(36)}`,
    source: component,
    kind: 'dead_letter',
    time: now,
    attributes: { code: dead.code, reason: dead.reason, component, ...(dead.context ? { context: dead.context } : {}) },
    raw: dead.record,
  };
}

/**
 * The dead-letter output used when no sink takes the `dead_letter` stream: one NDJSON file,
 * appended and fsynced before the batch is acknowledged.
 */
export class DeadLetterFileSink implements Sink {
  private fh: FileHandle | undefined;
  private closed = false;
  constructor(private readonly path: string) {}

  async write(batch: SinkBatch): Promise<void> {
    if (!this.fh) {
      await mkdir(dirname(this.path), { recursive: true });
      this.fh = await open(this.path, 'a');
    }
    let text = '';
    // Leniently: a record an operator could not process may hold what JSON cannot (a BigInt, a cycle).
    for (const e of batch.events) text += lenientJson(e) + '\n';
    await this.fh.write(text);
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh?.close();
  }
}
