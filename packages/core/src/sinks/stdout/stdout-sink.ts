import { z } from 'zod';
import { eventJsonLine, unwritableAsJson } from '../../event-json-line.js';
import type { DeadLetter } from '../../event.js';
import { defineSink } from '../../plugin.js';

export const stdoutConfigSchema = z.strictObject({
  include_raw: z.boolean().default(true).describe('Write the `raw` field too.'),
});

/**
 * `stdout`: NDJSON to standard output. A batch is acknowledged once the OS took the bytes. An
 * event JSON cannot represent goes to the dead letters (`STDOUT_ENCODING_FAILED`).
 *
 * ```yaml
 * sinks:
 *   console: { type: stdout, inputs: [unique] }
 * ```
 */
export const stdoutSink = defineSink({
  type: 'stdout',
  description: 'Writes events as NDJSON lines to standard output.',
  configSchema: stdoutConfigSchema,
  create(config, ctx) {
    const out = process.stdout;
    return {
      write(batch) {
        let text = '';
        const dead: DeadLetter[] = [];
        for (const e of batch.events) {
          try {
            text += eventJsonLine(e, config.include_raw) + '\n';
          } catch (err) {
            dead.push(unwritableAsJson(e, err, 'STDOUT_ENCODING_FAILED'));
          }
        }
        ctx.telemetry.bytesOut(Buffer.byteLength(text));
        return new Promise((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve(dead.length ? { dead } : {}))));
      },
      async close() {},
    };
  },
});
