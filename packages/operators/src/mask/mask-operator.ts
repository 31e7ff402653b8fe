import { createHmac, createSecretKey } from 'node:crypto';
import { ConfigError, defineOperator, mapEvents, mapEventsOwning, type CallEvent } from '@plumline/core';
import { compileGetter } from '@plumline/core/util';
import { MemoMap } from '../memo-map.js';
import { setInCopy } from '../set-in-copy.js';
import { CONTENT_FIELDS, maskConfigSchema, NUMBER_FIELDS, type MaskAction, type MaskConfig } from './mask-config.js';

/** The smallest HMAC key accepted: shorter keys make the hashes of a phone number space guessable. */
export const MIN_KEY_BYTES = 16;

type Masker = (value: unknown) => unknown;
type Step = (target: Record<string, unknown>, e: CallEvent) => void;

/** `***` and the last N digits; values without digits become `***`. */
function truncate(value: unknown, keep: number): unknown {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const digits = String(value).replace(/\D/g, '');
  return `***${digits.slice(-keep)}`;
}

/**
 * Numbers are hashed by their digits, so "+1 (800) 555-0100" and "18005550100" give the same
 * hash and still join; anything with an "@" (iPlum user e-mails) is hashed as written.
 */
const numberForm = (v: string) => (v.includes('@') ? v : v.replace(/\D/g, '') || v);

/** Distinct hashed values remembered: the same numbers recur all day, and an HMAC costs microseconds. */
export const HASH_CACHE_SIZE = 100_000;

/** Keyed HMAC-SHA256 (hex, cut to `chars`), cached by input. */
class Hasher {
  private readonly texts: MemoMap<string, string>;
  /** Phone numbers by the value as written (several spellings of one number share one hash): no digit extraction on a hit. */
  private readonly numbers = new MemoMap<string, string>(HASH_CACHE_SIZE, (written) => this.hash(numberForm(written)));
  constructor(key: Buffer, chars: number) {
    // A KeyObject made once: Node 24 imports a Buffer key on every createHmac (≈ 22 µs a call there
    // against ≈ 2.5 µs with a KeyObject; Node 20 ≈ 4 µs either way).
    const secret = createSecretKey(key);
    this.texts = new MemoMap(HASH_CACHE_SIZE, (text) => `hmac:${createHmac('sha256', secret).update(text).digest('hex').slice(0, chars)}`);
  }
  hash(text: string): string {
    return this.texts.get(text);
  }
  hashNumber(written: string): string {
    return this.numbers.get(written);
  }
}

function masker(action: MaskAction, hasher: Hasher | undefined, isNumber: boolean): Masker | 'keep' {
  if (action === 'keep') return 'keep';
  if (action === 'drop') return () => undefined;
  if (action === 'hash')
    return (v) => {
      if (v === undefined || v === null) return v;
      if (typeof v !== 'string') return hasher!.hash(JSON.stringify(v));
      return isNumber ? hasher!.hashNumber(v) : hasher!.hash(v);
    };
  return (v) => truncate(v, action.truncate);
}

/** Every field the config touches, with what happens to it (explicit `fields` win). */
export function maskPlan(c: MaskConfig): Map<string, MaskAction> {
  const plan = new Map<string, MaskAction>();
  for (const f of NUMBER_FIELDS) plan.set(f, c.numbers);
  for (const f of CONTENT_FIELDS) plan.set(f, c.content);
  plan.set('raw', c.raw);
  for (const [f, a] of Object.entries(c.fields)) plan.set(f, a);
  return plan;
}

const isEventLike = (v: unknown): v is CallEvent => v !== null && typeof v === 'object' && typeof (v as CallEvent).id === 'string' && typeof (v as CallEvent).kind === 'string' && typeof (v as CallEvent).attributes === 'object';

function needsKey(c: MaskConfig): boolean {
  return [...maskPlan(c).values()].includes('hash');
}

/** The fields `c` hashes when the key `env` holds is missing or shorter than MIN_KEY_BYTES (`create` would refuse it), else undefined. */
function fieldsWithoutKey(c: MaskConfig, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (!needsKey(c)) return undefined;
  const text = env[c.key_env];
  if (text && Buffer.byteLength(text) >= MIN_KEY_BYTES) return undefined;
  return [...maskPlan(c)].filter(([, a]) => a === 'hash').map(([f]) => f).join(', ');
}

/** A field mask compiled for where the field lives: top level, directly under `attributes`, or deeper (generic). */
interface FieldSteps {
  top: [string, Masker][];
  attrs: [string, Masker][];
  deep: Step[];
}

/** True for a path naming something every object inherits (`constructor`…): such fields take the generic, own-properties-only path. */
const inherited = (parts: readonly string[]) => parts.some((p) => p in Object.prototype);

function fieldSteps(config: MaskConfig, hasher: Hasher | undefined): FieldSteps {
  const steps: FieldSteps = { top: [], attrs: [], deep: [] };
  for (const [field, action] of maskPlan(config)) {
    const m = masker(action, hasher, NUMBER_FIELDS.includes(field));
    if (m === 'keep') continue;
    const parts = field.split('.');
    if (!inherited(parts) && parts.length === 1) steps.top.push([field, m]);
    else if (!inherited(parts) && parts.length === 2 && parts[0] === 'attributes') steps.attrs.push([parts[1]!, m]);
    else {
      const get = compileGetter(field);
      steps.deep.push((t, e) => {
        const v = get(e);
        if (v !== undefined) setInCopy(t, parts, m(v));
      });
    }
  }
  return steps;
}

/**
 * enrich's results at `phone_target` ({ from: { e164, … }, to: … }), masked: a new object per
 * event (the event's own), each number's result masked once and the masked result shared by every
 * event that holds the same result object (enrich hands out one per distinct number). A bounded
 * Map, not a WeakMap: lookups by identity without the GC's ephemeron work.
 */
function phoneMask(config: MaskConfig, hasher: Hasher | undefined): ((phone: Record<string, unknown>) => Record<string, unknown>) | undefined {
  const numbers = masker(config.numbers, hasher, true);
  if (numbers === 'keep') return undefined;
  const masked = new MemoMap<Record<string, unknown>, Record<string, unknown>>(HASH_CACHE_SIZE, (info) => {
    const m: Record<string, unknown> = {};
    for (const k of Object.keys(info)) {
      const v = k === 'e164' || k === 'national' ? numbers(info[k]) : info[k];
      if (v !== undefined) m[k] = v;
    }
    return m;
  });
  return (phone) => {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(phone)) {
      const info = phone[name];
      if (info !== null && typeof info === 'object') out[name] = masked.get(info as Record<string, unknown>);
    }
    return out;
  };
}

/** How one event is masked: by a copy (any event), or in place (an event the operator owns; undefined when the config cannot). */
interface CompiledMask {
  copying: (e: CallEvent) => CallEvent;
  inPlace: ((e: CallEvent) => CallEvent) | undefined;
}

/**
 * One pass per event, with one copy of the event and of its attributes — or none, for an event
 * the operator owns (OperatorContext.ownsEvents) — then each masked field written into them.
 * Events nested in attributes (correlate's partners: a session's errors, a call's recording) hold
 * numbers too and are shared: an array of them is copied once, its events masked by copies.
 */
function compileMask(config: MaskConfig, hasher: Hasher | undefined): CompiledMask {
  const { top, attrs, deep } = fieldSteps(config, hasher);
  const phoneParts = config.phone_target.split('.');
  const maskPhone = phoneMask(config, hasher);
  // attributes.phone (the default) is masked in the attributes pass; another target generically.
  const phoneKey = maskPhone && phoneParts.length === 2 && phoneParts[0] === 'attributes' && !inherited(phoneParts) ? phoneParts[1]! : undefined;
  if (maskPhone && phoneKey === undefined) {
    const getPhone = compileGetter(config.phone_target);
    deep.push((t, e) => {
      const phone = getPhone(e);
      if (phone !== null && typeof phone === 'object') setInCopy(t, phoneParts, maskPhone(phone as Record<string, unknown>));
    });
  }
  /** Writes the masked fields of `src` (attributes `ea`) into `t` (attributes `a`): a copy of them, or themselves. */
  const maskInto = (t: Record<string, unknown>, a: Record<string, unknown>, src: Readonly<Record<string, unknown>>, ea: Readonly<Record<string, unknown>>, e: CallEvent): void => {
    // Masking replaces values, never removes a key: each is read before it is written.
    for (let i = 0; i < top.length; i++) {
      const [k, m] = top[i]!;
      const v = src[k];
      if (v !== undefined) t[k] = m(v);
    }
    for (let i = 0; i < attrs.length; i++) {
      const [k, m] = attrs[i]!;
      const v = ea[k];
      if (v !== undefined) a[k] = m(v);
    }
    for (let i = 0; i < deep.length; i++) deep[i]!(t, e);
    for (const k in a) {
      const v = a[k];
      if (k === phoneKey) {
        if (v !== null && typeof v === 'object') a[k] = maskPhone!(v as Record<string, unknown>);
      } else if (Array.isArray(v) && v.length > 0) {
        const nested = maskNested(v, copying);
        if (nested !== v) a[k] = nested;
      }
    }
  };
  const copying = (e: CallEvent): CallEvent => {
    const ea = e.attributes as Record<string, unknown>;
    // Spread copies keep the source's shape (fast); mask only replaces keys the event has.
    const a: Record<string, unknown> = { ...ea };
    const event: CallEvent = { ...e, attributes: a };
    maskInto(event, a, e, ea, e);
    return event;
  };
  const inPlace = (e: CallEvent): CallEvent => {
    const a = e.attributes as Record<string, unknown> | null | undefined;
    if (a === null || typeof a !== 'object') return copying(e);
    maskInto(e, a, e, a, e);
    return e;
  };
  // A deeper field's step reads the event as it came (generic getter) after the top-level and
  // attributes steps wrote theirs: in place it would read their results, so such configs copy.
  return { copying, inPlace: deep.length === 0 ? inPlace : undefined };
}

/** `v` with its event-like entries masked (one copy of the array, made at the first of them), or `v` itself when it holds none. */
function maskNested(v: unknown[], maskOne: (e: CallEvent) => CallEvent): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!isEventLike(x)) continue;
    out ??= v.slice();
    out[i] = maskOne(x);
  }
  return out ?? v;
}

/**
 * `mask`: privacy for call data before any sink sees it. Phone numbers are hashed with a keyed
 * HMAC-SHA256 (the same number gives the same hash, so joins and counts still work, but the
 * number cannot be read back or guessed without the key), truncated to their last digits, or
 * dropped; free text is dropped or hashed; the raw record is dropped. enrich's E.164 and national
 * forms are masked like the number they came from.
 *
 * ```yaml
 * masked:
 *   type: mask
 *   inputs: [enriched]
 *   numbers: hash                 # key from $PLUMLINE_MASK_KEY
 *   content: drop
 *   fields: { attributes.userId: hash, to: { truncate: 4 } }
 * ```
 */
export const maskOperator = defineOperator({
  type: 'mask',
  description: 'Hashes (keyed HMAC-SHA256), truncates or drops phone numbers, content fields and the raw record.',
  configSchema: maskConfigSchema,
  // validate checks the key as run does (without the environment, `validate --no-env`, it cannot).
  preflight(config, ctx) {
    const hashed = ctx.env && fieldsWithoutKey(config, ctx.env);
    if (!hashed) return [];
    return [{ code: 'CONFIG_MASK_KEY_MISSING', path: ['key_env'], message: `mask needs an HMAC key of at least ${MIN_KEY_BYTES} bytes in the environment variable ${config.key_env} (it hashes ${hashed}): set it, e.g. to the output of openssl rand -hex 32` }];
  },
  create(config, ctx) {
    let key: Buffer | undefined;
    if (needsKey(config)) {
      const hashed = fieldsWithoutKey(config, process.env);
      if (hashed) throw new ConfigError('CONFIG_MASK_KEY_MISSING', `mask needs an HMAC key of at least ${MIN_KEY_BYTES} bytes in the environment variable ${config.key_env} (it hashes ${hashed})`, { fields: { env: config.key_env } });
      key = Buffer.from(process.env[config.key_env]!);
    }
    const hasher = key ? new Hasher(key, config.hash_chars) : undefined;
    const { copying, inPlace } = compileMask(config, hasher);
    const apply = inPlace ? mapEventsOwning(() => ctx.ownsEvents?.() ?? false, copying, inPlace) : mapEvents(copying);
    return { apply, handsOverEvents: true };
  },
});
