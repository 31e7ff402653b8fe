export { RegistryEmulator, type RegistryEmulatorOptions, type Compatibility } from './registry-emulator.js';
