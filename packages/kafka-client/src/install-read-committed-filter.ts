import { installReadCommittedFilter } from './read-committed-filter.js';

// A side effect on purpose: it must run before kafkajs is first evaluated (kafkajs-client.ts).
installReadCommittedFilter();
