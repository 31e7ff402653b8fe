// The fix goes first: dependencies evaluate in import order, so kafkajs loads with it in place.
import './install-read-committed-filter.js';

/** kafkajs, loaded with the corrected read_committed filter (see read-committed-filter.ts). Every module here imports kafkajs through this one. */
export { default } from 'kafkajs';
