/** `@plumline/core/emulator`: what a vendor API emulator is built from — the server, the faults and the counters every one has. */
export { VendorEmulator, countIn, readBody, ARRIVALS_KEPT, type EmulatorFaults, type EmulatorStats, type EmulatorListenOptions } from './vendor-emulator.js';
