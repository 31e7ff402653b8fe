/**
 * The emulators' demo credentials when the environment does not set them: printed by their
 * --help and start line, and used by `pnpm demo`. Apart from the emulators so that `--help`
 * does not load them.
 */
export const IPLUM_DEFAULTS = { accessKey: 'DEMOACCESSKEY', secretKey: 'demo-secret-key', username: 'admin@acme-voice.com' } as const;
/** The Plum emulator's credentials when PLUM_USER / PLUM_PASSWORD do not say. */
export const PLUM_DEFAULTS = { user: 'demo', password: 'demo-password' } as const;
