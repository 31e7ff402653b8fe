export { PlumEmulator, CALL_RETENTION_SEC, SESSION_RETENTION_SEC, MAX_LIMIT, DEFAULT_LIMIT, type PlumEmulatorOptions, type PlumFaults, type PlumFault } from './plum-emulator.js';
export { PlumData, type PlumDataOptions, type SessionRecord, type CallRecord } from './plum-data.js';
