export { IplumEmulator, MAX_RANGE_MS, EPOCH_TOLERANCE_SEC, type IplumEmulatorOptions, type IplumFaults, type IplumFault } from './iplum-emulator.js';
export { IplumData, usageTypeOf, type UsageRecord, type RecordingRecord } from './iplum-data.js';
