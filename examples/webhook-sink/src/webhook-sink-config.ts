import { duration, secret, z } from '@plumline/core';

export const DEFAULT_TIMEOUT = '10s';
export const DEFAULT_MAX_RETRIES = 8;
export const DEFAULT_MAX_IN_FLIGHT = 2;

export const webhookSinkConfigSchema = z.strictObject({
  url: z.url().describe('Where each batch is POSTed (a JSON array of events).'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers, e.g. a tenant id.'),
  bearer_token: secret('Sent as `Authorization: Bearer …`; redacted from logs.').optional(),
  timeout: duration('Timeout of one POST.', DEFAULT_TIMEOUT),
  max_retries: z.int().min(0).max(100).default(DEFAULT_MAX_RETRIES).describe('Retries of a POST that failed with 429, 5xx, a timeout or a network error (Retry-After is honoured).'),
  max_in_flight: z.int().min(1).max(64).default(DEFAULT_MAX_IN_FLIGHT).describe('POSTs in flight at once (their order is not kept).'),
});

export type WebhookSinkConfig = z.output<typeof webhookSinkConfigSchema>;
