import { byteSize, secret, z } from '@plumline/core';

export const DEFAULT_CALLBACK_PATH = '/iplum/callbacks';
export const DEFAULT_MAX_BODY = '64KiB';
export const DEFAULT_MAX_PENDING = 10_000;
export const DEFAULT_SECRET_HEADER = 'x-plumline-secret';

const listen = z
  .string()
  .regex(/^(\[[^\]]+\]|[^:]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8090')
  .refine((l) => Number(l.slice(l.lastIndexOf(':') + 1)) <= 65_535, 'the port must be 0–65535 (0: any free port)')
  .describe('Address to listen on (host:port).')
  .meta({ examples: ['0.0.0.0:8090'] });

/** The config schema of the `iplum_callbacks` source. */
export const callbackConfigSchema = z.strictObject({
  listen,
  path: z.string().startsWith('/').default(DEFAULT_CALLBACK_PATH).describe('URL path iPlum posts to.'),
  auth: z
    .union([
      z.strictObject({ header: z.strictObject({ name: z.string().min(1).default(DEFAULT_SECRET_HEADER).describe('Header carrying the secret.'), value: secret('The shared secret.') }) }),
      z.strictObject({ path_secret: secret('A secret last path segment: iPlum posts to <path>/<secret>.') }),
      z.strictObject({ basic: z.strictObject({ username: z.string().min(1).describe('Basic auth user name.'), password: secret('Basic auth password.') }) }),
    ])
    .describe('How callers prove they are iPlum (the API signs nothing): exactly one of header, path_secret, basic.')
    .meta({ examples: [{ header: { value: '${IPLUM_CALLBACK_SECRET}' } }] }),
  max_body: byteSize('Largest request body accepted; larger gets 413.', DEFAULT_MAX_BODY),
  max_pending: z.int().min(1).default(DEFAULT_MAX_PENDING).describe('Callbacks stored but not yet acknowledged by every sink; past it the receiver answers 503 with Retry-After.'),
  tls: z.strictObject({ cert: z.string().min(1).describe('PEM certificate file.'), key: z.string().min(1).describe('PEM private key file.') }).optional().describe('Serve HTTPS.'),
  include_raw: z.boolean().default(true).describe('Keep the pushed record under `raw`.'),
  acknowledge: z
    .enum(['stored', 'delivered'])
    .default('stored')
    .describe('When a callback gets its 2xx: `stored` once fsynced to the local write-ahead log (replayed after a crash); `delivered` once every sink acknowledged it (a Kafka sink: acks=all) and its checkpoint is committed, with no local log: receivers behind a load balancer then keep nothing a lost machine takes with it. `delivered` answers within about `runtime.commit_interval`; set it low (100ms).'),
});

/** The `iplum_callbacks` source's config, validated. */
export type CallbackConfig = z.output<typeof callbackConfigSchema>;
