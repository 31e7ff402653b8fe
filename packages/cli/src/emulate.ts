import { PlumEmulator } from '@plumline/source-plum/emulator';
import { IplumEmulator } from '@plumline/source-iplum/emulator';
import { RegistryEmulator } from '@plumline/kafka-client/emulator';
import type { CliIo } from './main.js';
import { IPLUM_DEFAULTS, PLUM_DEFAULTS } from './emulator-defaults.js';

export interface EmulateOptions {
  host: string;
  port: number;
  seed: number;
  rate?: number;
  callbackUrl?: string;
  /** List calls only once they ended (exercises `lateness`). */
  listAfterEnd?: boolean;
}


/** A credential for the start line: the default is shown (it is the emulator's demo value), one set in the environment only by name. */
const shown = (env: string, fallback: string) => (process.env[env] ? `from ${env}` : `${fallback} (default; ${env} sets it)`);

/**
 * `plumline emulate plum|iplum|schema-registry`: serves an emulator until SIGINT/SIGTERM. A port
 * that cannot be listened on (in use, not allowed) is a one-line error, exit 1.
 */
export async function emulate(which: string | undefined, opts: EmulateOptions, io: CliIo): Promise<number> {
  try {
    if (which === 'iplum') return await emulateIplum(opts, io);
    if (which === 'schema-registry') return await emulateRegistry(opts, io);
    if (which === 'plum') return await emulatePlum(opts, io);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.syscall !== 'listen') throw err;
    const why = e.code === 'EADDRINUSE' ? 'the port is in use (EADDRINUSE): stop what listens there, or choose another with --port' : e.code === 'EACCES' ? 'not allowed (EACCES): choose a port above 1023 with --port' : e.message;
    io.stderr.write(`error: the ${which} emulator cannot listen on ${opts.host}:${opts.port}: ${why}\n`);
    return 1;
  }
  io.stderr.write(`error: plumline emulate knows: plum, iplum, schema-registry (got "${which ?? ''}")\n`);
  return 2;
}

/** `plumline emulate plum`: credentials from PLUM_USER / PLUM_PASSWORD (default demo / demo-password). */
async function emulatePlum(opts: EmulateOptions, io: CliIo): Promise<number> {
  const emulator = new PlumEmulator({
    host: opts.host,
    port: opts.port,
    seed: opts.seed,
    sessionsPerSecond: opts.rate,
    listCallsAfterEnd: opts.listAfterEnd,
    username: process.env.PLUM_USER || PLUM_DEFAULTS.user,
    password: process.env.PLUM_PASSWORD || PLUM_DEFAULTS.password,
  });
  const url = await emulator.start();
  io.stdout.write(`Plum emulator listening on ${url} (user ${process.env.PLUM_USER || PLUM_DEFAULTS.user}, password ${shown('PLUM_PASSWORD', PLUM_DEFAULTS.password)}); faults: POST ${url.replace(/ws\/$/, '')}_emulator/faults\n`);
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
 * IPLUM_USERNAME (defaults {@link IPLUM_DEFAULTS}). With
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
    accessKey: process.env.IPLUM_ACCESS_KEY || IPLUM_DEFAULTS.accessKey,
    secretKey: process.env.IPLUM_SECRET_KEY || IPLUM_DEFAULTS.secretKey,
    username: process.env.IPLUM_USERNAME || IPLUM_DEFAULTS.username,
    callbackUrl: opts.callbackUrl,
    callbackHeaders: header && header.includes('=') ? { [header.slice(0, header.indexOf('='))]: header.slice(header.indexOf('=') + 1) } : undefined,
  });
  const url = await emulator.start();
  io.stdout.write(
    `iPlum emulator listening on ${url} (access key ${process.env.IPLUM_ACCESS_KEY || IPLUM_DEFAULTS.accessKey}, username ${process.env.IPLUM_USERNAME || IPLUM_DEFAULTS.username}, secret key ${shown('IPLUM_SECRET_KEY', IPLUM_DEFAULTS.secretKey)})${opts.callbackUrl ? `; pushing callbacks to ${opts.callbackUrl}` : ''}\n`,
  );
  return serveUntilSignal(() => emulator.stop());
}
