// The fix goes first: dependencies evaluate in import order, so kafkajs loads with it in place.
import './install-read-committed-filter.js';
// Patches kafkajs's request queue class (loading it if need be): the order does not matter for it.
import './install-request-queue-idle-fix.js';
import kafkajs from 'kafkajs';
import { registerCodecs } from './codecs.js';

// Here, not in the sink: a process that loads only the Kafka source or the state store (as the
// CLI does for a pipeline without a kafka sink) must read snappy, lz4 and zstd batches too.
registerCodecs(kafkajs);

/** kafkajs, loaded with the corrected read_committed filter (see read-committed-filter.ts), request queue (request-queue-idle-fix.ts) and every codec Kafka has. Every module here imports kafkajs through this one. */
export default kafkajs;
