/** `@plumline/core/sources`: what sources are built from — `pollRanges` (time ranges polled in parts, resumable, with lateness), the vendor HTTP client, the call generator and the stdin line parser. */
export { VendorHttpClient, vendorClientOptions, type VendorClientOptions, type VendorClientConfig, type VendorHttpClientOptions, type VendorRequest, type VendorResponse, type VendorError, type TransportFailure } from '../http/vendor-http-client.js';
export { pollRanges, outageReporting, OUTAGE_BACKOFF, QUIET_CHECKPOINT_MS, DEFAULT_BOUNDED_RETRY_DURATION_MS, type PollRangesOptions, type PollCheckpoint, type PollPart } from './poll-ranges.js';
export { pollStreams } from './poll-streams.js';
export { scaleCursors } from './scale-cursors.js';
export { pollingOptions, pollingBounded, instantMs, type PollingConfig, type PollingOptions, type PollingShared } from './polling-options.js';
export type { SeenChunk } from './seen-ids.js';
export { latenessFields, latenessProblem, latenessMs, warnIfOverlapGiven, DEFAULT_LATENESS } from './lateness.js';
export { CallGenerator } from './generate/call-generator.js';
export { parseEventLine } from './stdin/stdin-source.js';
export { accountsSource, accountContext, ACCOUNT_BACKOFF, DEFAULT_REJECTED_RETRY_MS, type AccountsCheckpoint, type AccountSource, type AccountsSource, type AccountsSourceOptions } from './accounts-source.js';
export { TenantTurns, TenantTurn } from './tenant-turns.js';
export { sourceOfAccounts, type SharedByAccounts, type ManyAccountsConfig } from './source-of-accounts.js';
export { VendorApiError, type VendorApiErrorOptions } from '../http/vendor-api-error.js';
export { HttpHost, TOO_MANY_REQUESTS_PAUSE_MS, type HttpHostOptions } from '../http/http-host.js';
export { pollCheckpointSchema, accountsCheckpointSchema } from './poll-checkpoint-schema.js';
export { ACCOUNTS_INCLUDES, accountsFields, accountsProblems, DEFAULT_MAX_CONCURRENT_ACCOUNTS, migrateAccountsCheckpoint, accountsShardable, ownedAccounts } from './accounts-fields.js';
