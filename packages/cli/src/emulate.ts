import { PlumEmulator } from '@plumline/source-plum/emulator';
import type { CliIo } from './main.js';

export interface EmulateOptions {
  host: string;
  port: number;
  seed: number;
  rate?: number;
}

/**
 * `plumline emulate plum`: serves the Plum API emulator until SIGINT/SIGTERM. Credentials come
 * from PLUM_USER / PLUM_PASSWORD (default demo / demo-password).
 */
export async function emulate(which: string | undefined, opts: EmulateOptions, io: CliIo): Promise<number> {
  if (which !== 'plum') {
    io.stderr.write(`error: plumline emulate knows: plum (got "${which ?? ''}")\n`);
    return 2;
  }
  const emulator = new PlumEmulator({
    host: opts.host,
    port: opts.port,
    seed: opts.seed,
    sessionsPerSecond: opts.rate,
    username: process.env.PLUM_USER || 'demo',
    password: process.env.PLUM_PASSWORD || 'demo-password',
  });
  const url = await emulator.start();
  io.stdout.write(`Plum emulator listening on ${url} (user ${process.env.PLUM_USER || 'demo'}); faults: POST ${url.replace(/ws\/$/, '')}_emulator/faults\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.stop();
  return 0;
}
