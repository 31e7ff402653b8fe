export { httpSource, defineHttpSource, type HttpSourceDefinition, type HttpCheckpoint } from './http-source.js';
export { httpSourceConfigSchema, httpConfigSchema, type HttpSourceConfig } from './http-source-config.js';
export type { HttpSigner, HttpRequestToSign } from './http-request.js';
export type { CursorCheckpoint } from './cursor-poll.js';
export type { ListingPosition } from './http-listing.js';
export { HttpSourceError } from './http-source-errors.js';
