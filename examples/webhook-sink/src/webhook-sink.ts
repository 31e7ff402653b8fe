import { defineSink, eventJsonLine, PipelineError, unwritableAsJson, type DeadLetter, type Sink, type SinkBatch, type SinkContext, type SinkWriteResult } from '@plumline/core';
import { parseRetryAfter, retryWithBackoff } from '@plumline/core/util';
import { webhookSinkConfigSchema, type WebhookSinkConfig } from './webhook-sink-config.js';

/** The receiver refused the batch for good (4xx other than 408/429): retrying will not help. */
const permanent = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

class WebhookSink implements Sink {
  readonly maxInFlight: number;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly c: WebhookSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.maxInFlight = c.max_in_flight;
  }

  /**
   * Resolves once the receiver answered 2xx: that is this sink's "durable". An event JSON cannot
   * represent goes to the dead letters instead of failing the batch (retrying would not help).
   */
  async write(batch: SinkBatch): Promise<SinkWriteResult> {
    if (this.closed) throw new PipelineError('WEBHOOK_CLOSED', 'write after close', { retriable: false });
    const items: string[] = [];
    const dead: DeadLetter[] = [];
    for (const e of batch.events) {
      try {
        items.push(eventJsonLine(e, true));
      } catch (err) {
        dead.push(unwritableAsJson(e, err, 'WEBHOOK_ENCODING_FAILED'));
      }
    }
    if (items.length === 0) return { dead };
    const body = `[${items.join(',')}]`;
    await retryWithBackoff((attempt) => this.post(body, attempt), {
      maxRetries: this.c.max_retries,
      signal: this.ctx.signal,
      retryAfterMs: (err) => (err as PipelineError).fields?.retryAfterMs as number | undefined,
      onRetry: (err, attempt, delayMs) => {
        this.ctx.telemetry.retry(err);
        this.ctx.logger.warn({ attempt, delayMs, code: (err as PipelineError).code }, 'webhook POST failed, retrying');
      },
    });
    this.ctx.telemetry.bytesOut(Buffer.byteLength(body));
    return dead.length ? { dead } : {};
  }

  private async post(body: string, attempt: number): Promise<void> {
    const ac = new AbortController();
    this.inFlight.add(ac);
    const timer = setTimeout(() => ac.abort(), this.c.timeout);
    try {
      const res = await fetch(this.c.url, {
        method: 'POST',
        body,
        signal: ac.signal,
        headers: { 'content-type': 'application/json', 'x-plumline-attempt': String(attempt + 1), ...this.c.headers, ...(this.c.bearer_token ? { authorization: `Bearer ${this.c.bearer_token}` } : {}) },
      });
      await res.arrayBuffer();
      if (res.ok) return;
      throw new PipelineError(permanent(res.status) ? 'WEBHOOK_REJECTED' : 'WEBHOOK_UNAVAILABLE', `the webhook answered ${res.status}`, {
        retriable: !permanent(res.status),
        fields: { status: res.status, retryAfterMs: parseRetryAfter(res.headers.get('retry-after') ?? undefined) },
      });
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      throw new PipelineError('WEBHOOK_UNREACHABLE', `the webhook could not be reached: ${(err as Error).message}`, { retriable: true, cause: err });
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(ac);
    }
  }

  async close(): Promise<void> {
    // The runtime calls close after the last write resolved; anything still running is cut.
    this.closed = true;
    for (const ac of this.inFlight) ac.abort();
  }
}

/**
 * `webhook`: POSTs each batch to a URL as a JSON array, retrying 429 / 5xx / timeouts with
 * backoff (honouring Retry-After); a 4xx fails the batch for good with `WEBHOOK_REJECTED`.
 *
 * ```yaml
 * sinks:
 *   hook:
 *     use: plumline-sink-webhook      # or a path: ./webhook-sink/dist/index.js
 *     type: webhook
 *     inputs: [masked]
 *     url: https://example.com/calls
 *     bearer_token: ${WEBHOOK_TOKEN}
 * ```
 */
export const webhookSink = defineSink({
  type: 'webhook',
  description: 'POSTs each batch as a JSON array to a URL, with retries and backoff (an example third-party plugin).',
  configSchema: webhookSinkConfigSchema,
  create: (config, ctx) => new WebhookSink(config, ctx),
});
