import { createHook } from 'node:async_hooks';
import type { z } from 'zod';
import { isPlumlineError } from '../../errors.js';
import { toJsonSchema } from '../../schema.js';

/** One contract of the engine, checked against one plugin. */
export interface ContractCheck {
  /** The contract, as a sentence (the test's name). */
  name: string;
  run(): Promise<void>;
}

/** A plugin broke a contract: says which, and how. */
export class ContractViolation extends Error {
  constructor(
    readonly contract: string,
    detail: string,
  ) {
    super(`contract "${contract}" broken: ${detail}`);
    this.name = 'ContractViolation';
  }
}

export function violated(contract: string, detail: string): never {
  throw new ContractViolation(contract, detail);
}

/** Contract names, as the conformance suites title their tests. */
export const SCHEMA_CONTRACT = 'its config schema is strict and every key is documented';
/** See {@link SCHEMA_CONTRACT}. */
export const ERROR_CODE_CONTRACT = 'its errors are PlumlineErrors with a stable code and a retriable flag';
/** See {@link SCHEMA_CONTRACT}. */
export const CLOSE_CONTRACT = 'close is idempotent and leaves nothing running';

/** Unknown keys rejected; a description on the schema's properties, recursively through objects. */
export function checkSchema(schema: z.ZodType, validConfig: Record<string, unknown>): void {
  const probe = schema.safeParse({ ...validConfig, not_a_real_key_4729: true });
  if (probe.success) violated(SCHEMA_CONTRACT, 'an unknown key (not_a_real_key_4729) was accepted; use z.strictObject');
  if (!probe.error.issues.some((i) => i.code === 'unrecognized_keys')) violated(SCHEMA_CONTRACT, `an unknown key was refused, but not as an unknown key (${probe.error.issues[0]?.message ?? ''})`);
  const undocumented: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== 'object') return;
    const n = node as { properties?: Record<string, { description?: string }>; anyOf?: unknown[]; oneOf?: unknown[]; items?: unknown };
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      const hasDoc = typeof v.description === 'string' && v.description.length > 0;
      // An object whose own keys are all documented explains itself.
      if (!hasDoc && !(v as { properties?: object }).properties) undocumented.push(path ? `${path}.${k}` : k);
      walk(v, path ? `${path}.${k}` : k);
    }
    for (const alt of [...(n.anyOf ?? []), ...(n.oneOf ?? [])]) walk(alt, path);
    if (n.items) walk(n.items, `${path}[]`);
  };
  walk(toJsonSchema(schema), '');
  if (undocumented.length) violated(SCHEMA_CONTRACT, `keys without a description: ${undocumented.join(', ')} (add .describe(...))`);
}

/** Runs what must fail with a coded error (a plugin under its failing config) and checks the error. */
export async function checkFailsWithCode(what: string, noFailure: string, run: () => Promise<void>): Promise<void> {
  let err: unknown;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  if (err === undefined) violated(ERROR_CODE_CONTRACT, noFailure);
  checkErrorCode(err, what);
}

/** The error is a PlumlineError with an UPPER_SNAKE code and a boolean retriable. */
export function checkErrorCode(err: unknown, what: string): void {
  if (!isPlumlineError(err)) violated(ERROR_CODE_CONTRACT, `${what} threw ${err instanceof Error ? err.name : typeof err} (${String((err as Error)?.message ?? err)}) instead of a PlumlineError subclass`);
  if (!/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(err.code)) violated(ERROR_CODE_CONTRACT, `${what} threw code "${err.code}", not UPPER_SNAKE_CASE`);
  if (typeof err.retriable !== 'boolean') violated(ERROR_CODE_CONTRACT, `${what} threw an error without a retriable flag`);
}

/** Kinds of resources that keep a process alive (timers, sockets, servers, child processes, file handles). */
const WATCHED = new Set(['Timeout', 'Immediate', 'TCPWRAP', 'TCPSERVERWRAP', 'PIPEWRAP', 'PIPESERVERWRAP', 'UDPWRAP', 'PROCESSWRAP', 'FILEHANDLE', 'TLSWRAP', 'HTTPINCOMINGMESSAGE', 'HTTPCLIENTREQUEST']);

/** Watches the resources created from now on, to find those still alive later. */
export interface ResourceWatch {
  /** Resources created since the watch began that still keep the process alive, by kind. */
  alive(): Record<string, number>;
  stop(): void;
}

export function watchResources(): ResourceWatch {
  const live = new Map<number, { type: string; resource: { hasRef?: () => boolean } }>();
  const hook = createHook({
    init(asyncId, type, _trigger, resource) {
      if (WATCHED.has(type)) live.set(asyncId, { type, resource: resource as { hasRef?: () => boolean } });
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    alive() {
      const out: Record<string, number> = {};
      for (const { type, resource } of live.values()) {
        // An unref'd timer or socket does not keep the process alive.
        if (typeof resource.hasRef === 'function' && !resource.hasRef()) continue;
        if (type === 'Timeout' && (resource as { _destroyed?: boolean })._destroyed) continue;
        // A closed file handle lives on until garbage collection, with fd < 0.
        if (type === 'FILEHANDLE' && !((resource as { fd?: number }).fd! >= 0)) continue;
        out[type] = (out[type] ?? 0) + 1;
      }
      return out;
    },
    stop: () => void hook.disable(),
  };
}

/** After close: nothing created since the watch began keeps the process alive. */
export async function checkNothingLeft(watch: ResourceWatch, what: string): Promise<void> {
  try {
    // Sockets and file handles finish closing on the next turns of the loop.
    for (let i = 0; i < 20; i++) {
      const extra = Object.entries(watch.alive());
      if (extra.length === 0) return;
      if (i === 19) violated(CLOSE_CONTRACT, `after ${what}, still keeping the process alive: ${extra.map(([k, n]) => `${k} ×${n}`).join(', ')} (close sockets and servers, clear or unref timers)`);
      await new Promise((r) => setTimeout(r, 25).unref());
    }
  } finally {
    watch.stop();
  }
}
