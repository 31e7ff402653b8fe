import { installRequestQueueIdleFix } from './request-queue-idle-fix.js';

// A side effect on purpose: every kafkajs connection of the package gets the corrected queue (kafkajs-client.ts).
installRequestQueueIdleFix();
