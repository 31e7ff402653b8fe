// The fix goes first: dependencies evaluate in import order, so kafkajs loads with it in place.
import './install-read-committed-filter.js';
// Patches kafkajs's request queue class (loading it if need be): the order does not matter for it.
import './install-request-queue-idle-fix.js';

/** kafkajs, loaded with the corrected read_committed filter (see read-committed-filter.ts) and request queue (request-queue-idle-fix.ts). Every module here imports kafkajs through this one. */
export { default } from 'kafkajs';
