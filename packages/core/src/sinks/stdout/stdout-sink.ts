import { z } from 'zod';
import { defineSink } from '../../plugin.js';

export const stdoutConfigSchema = z.strictObject({
  include_raw: z.boolean().default(true).describe('Write the `raw` field too.'),
});

/**
 * `stdout`: NDJSON to standard output. A batch is acknowledged once the OS took the bytes.
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
        for (const e of batch.events) {
          text += (config.include_raw || e.raw === undefined ? JSON.stringify(e) : JSON.stringify({ ...e, raw: undefined })) + '\n';
        }
        ctx.telemetry.bytesOut(Buffer.byteLength(text));
        return new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
      },
      async close() {},
    };
  },
});
