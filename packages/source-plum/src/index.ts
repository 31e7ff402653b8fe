export { plumSource, callEvent, type PlumCheckpoint } from './plum-source.js';
export { plumSourceConfigSchema, type PlumSourceConfig, type PlumStream } from './plum-source-config.js';
export { plumParseOperator } from './plum-parse-operator.js';
export { parseSessionLine, parseErrorLine, parsePlumLine, PlumLineError, DEFAULT_PLUM_TIME_ZONE } from './parse/plum-line-parser.js';
export { PlumClient, type PlumClientOptions } from './plum-client.js';
export { PlumApiError } from './plum-errors.js';
export type { PlumLogRow, PlumLogDetail, PlumFormat } from './plum-envelope.js';
