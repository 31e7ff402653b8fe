import { PlumEmulator } from '@plumline/source-plum/emulator';
import { IplumEmulator } from '@plumline/source-iplum/emulator';
import { RegistryEmulator } from '@plumline/kafka/emulator';
import type { CliIo } from './main.js';

export interface EmulateOptions {
  host: string;
  port: number;
  seed: number;
  rate?: number;
  callbackUrl?: string;
  /** List calls only once they ended (exercises `lateness`). */
  listAfterEnd?: boolean;
}

/**
 * `plumline emulate plum`: serves the Plum API emulator until SIGINT/SIGTERM. Credentials come
 * from PLUM_USER / PLUM_PASSWORD (default demo / demo-password).
 */
export async function emulate(which: string | undefined, opts: EmulateOptions, io: CliIo): Promise<number> {
  if (which === 'iplum') return emulateIplum(opts, io);
  if (which === 'schema-registry') return emulateRegistry(opts, io);
  if (which !== 'plum') {
    io.stderr.write(`error: plumline emulate knows: plum, iplum, schema-registry (got "${which ?? ''}")\n`);
    return 2;
  }
  const emulator = new PlumEmulator({
    host: opts.host,
    port: opts.port,
    seed: opts.seed,
    sessionsPerSecond: opts.rate,
    listCallsAfterEnd: opts.listAfterEnd,
    username: process.env.PLUM_USER || 'demo',
    password: process.env.PLUM_PASSWORD || 'demo-password',
  });
  const url = await emulator.start();
  io.stdout.write(`Plum emulator listening on ${url} (user ${process.env.PLUM_USER || 'demo'}); faults: POST ${url.replace(/ws\/$/, '')}_emulator/faults\n`);
  return serveUntilSignal(() => emulator.stop());
}

/** Keeps an emulator serving until SIGINT or SIGTERM, then stops it. */
async function serveUntilSignal(stop: () => Promise<void>): Promise<number> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return 0;
}

/** `plumline emulate schema-registry`: a Confluent-compatible schema registry in memory (for the avro and json_schema encodings). */
async function emulateRegistry(opts: EmulateOptions, io: CliIo): Promise<number> {
  const emulator = new RegistryEmulator({ host: opts.host, port: opts.port });
  const url = await emulator.start();
  io.stdout.write(`schema registry emulator listening on ${url}\n`);
  return serveUntilSignal(() => emulator.stop());
}

/**
 * `plumline emulate iplum`: the iPlum API emulator. Keys from IPLUM_ACCESS_KEY / IPLUM_SECRET_KEY /
 * IPLUM_USERNAME (defaults DEMOACCESSKEY / demo-secret-key / admin@acme-voice.com). With
 * --callback-url it also pushes callbacks for new records there (header CALLBACK_HEADER=value).
 */
async function emulateIplum(opts: EmulateOptions, io: CliIo): Promise<number> {
  const header = process.env.CALLBACK_HEADER;
  const emulator = new IplumEmulator({
    host: opts.host,
    port: opts.port,
    seed: opts.seed,
    recordsPerSecond: opts.rate,
    listAfterEnd: opts.listAfterEnd,
    accessKey: process.env.IPLUM_ACCESS_KEY || undefined,
    secretKey: process.env.IPLUM_SECRET_KEY || undefined,
    username: process.env.IPLUM_USERNAME || undefined,
    callbackUrl: opts.callbackUrl,
    callbackHeaders: header && header.includes('=') ? { [header.slice(0, header.indexOf('='))]: header.slice(header.indexOf('=') + 1) } : undefined,
  });
  const url = await emulator.start();
  io.stdout.write(`iPlum emulator listening on ${url}${opts.callbackUrl ? `; pushing callbacks to ${opts.callbackUrl}` : ''}\n`);
  return serveUntilSignal(() => emulator.stop());
}
