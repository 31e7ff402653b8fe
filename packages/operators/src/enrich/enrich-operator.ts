import { resolve } from 'node:path';
import { defineOperator, mapEventsOwning, PipelineError, type CallEvent, type OperatorContext, type PreflightProblem, type Timer } from '@plumline/core';
import { compileGetter, msFromIso } from '@plumline/core/util';
import { setInCopy } from '../set-in-copy.js';
import { enrichConfigSchema, type EnrichConfig } from './enrich-config.js';
import { LocalClock } from './local-clock.js';
import { LookupTable } from './lookup-table.js';
import { PhoneNormalizer } from './phone-normalizer.js';

/**
 * What enrich adds to one event: `attributes.x` values (the common case) go straight into `attrs`,
 * the copy of the event's attributes; top-level fields are collected in `top`, anything deeper in `deep`.
 */
interface Draft {
  attrs: Record<string, unknown>;
  top: Record<string, unknown> | undefined;
  deep: [readonly string[], unknown][] | undefined;
}
type Step = (d: Draft, e: CallEvent) => void;

function put(d: Draft, parts: readonly string[], value: unknown): void {
  if (parts.length === 2 && parts[0] === 'attributes') d.attrs[parts[1]!] = value;
  else if (parts.length === 1) (d.top ??= {})[parts[0]!] = value;
  else (d.deep ??= []).push([parts, value]);
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** One step for every phone field: their results go into one object at the target. */
function phoneStep(c: Exclude<EnrichConfig['phone'], false>, normalizer: PhoneNormalizer): Step {
  const target = c.target.split('.');
  const getTarget = compileGetter(c.target);
  const fields = c.fields.map((field) => [field.split('.').pop()!, compileGetter(field)] as const);
  return (d, e) => {
    let phone: Record<string, unknown> | undefined;
    for (const [name, get] of fields) {
      const v = get(e);
      if (typeof v !== 'string' || v === '') continue;
      if (!phone) {
        const existing = getTarget(e);
        phone = existing !== null && typeof existing === 'object' ? { ...(existing as Record<string, unknown>) } : {};
      }
      phone[name] = normalizer.normalize(v);
    }
    if (phone) put(d, target, phone);
  };
}

function lookupStep(l: EnrichConfig['lookups'][number], table: LookupTable): Step {
  const parts = l.match.split('.');
  // A match under attributes reads the attributes as earlier steps left them (e.g. attributes.phone.to.e164).
  const underAttributes = parts[0] === 'attributes' && parts.length >= 2;
  const get = compileGetter(underAttributes ? parts.slice(1).join('.') : l.match);
  const at = l.as.split('.');
  return (d, e) => {
    const v = get(underAttributes ? d.attrs : e);
    const row = v === undefined || v === null ? undefined : table.get(String(v));
    if (row) put(d, at, row);
    else if (l.default) put(d, at, l.default);
  };
}

function localTimeStep(c: NonNullable<EnrichConfig['local_time']>): Step {
  const clock = new LocalClock(c.zone);
  const at = c.target.split('.');
  const bh = c.business_hours;
  const days = new Set<string>(bh?.days);
  const holidays = new Set(bh?.holidays);
  const [start, end] = bh ? [minutes(bh.start), minutes(bh.end)] : [0, 0];
  // Call logs arrive in time order, many in one second: the last second's result is handed out
  // again, one object shared like enrich's phone results (nested values are never changed in place, not even on an event the operator owns).
  let lastSecond = NaN;
  let last: Record<string, unknown> = {};
  return (d, e) => {
    const ms = msFromIso(e.time);
    if (Number.isNaN(ms)) return;
    const second = Math.floor(ms / 1000);
    if (second !== lastSecond) {
      const l = clock.at(ms);
      last = { time: l.local, hour: l.hour, weekday: l.weekday, offsetMin: l.offsetMin };
      if (bh) last.businessHours = days.has(l.weekday) && !holidays.has(l.date) && l.minuteOfDay >= start && l.minuteOfDay < end;
      lastSecond = second;
    }
    put(d, at, last);
  };
}

/**
 * `enrich`: what a telephony data team adds first. Phone numbers to E.164 with country, type and
 * (NANP) area code; rows of lookup tables (CSV/JSON, reloaded when the file changes) by any
 * field; `durationSec` where missing; local time, weekday and a business-hours flag in a zone.
 * Events are copied, or changed in place when the operator owns them (OperatorContext.ownsEvents); a non-number stays as it was, with the reason.
 * What it adds is kept small (every byte is written by every sink): the E.164 form carries the
 * national number, the local time carries the date.
 *
 * ```yaml
 * enriched:
 *   type: enrich
 *   inputs: [plum]
 *   phone: { fields: [from, to], default_region: US }
 *   lookups:
 *     - { file: lines.csv, key: number, match: attributes.phone.to.e164, as: attributes.line, default: { campaign: unknown } }
 *   local_time:
 *     zone: America/New_York
 *     business_hours: { days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", holidays: ["2026-12-25"] }
 * ```
 */
export const enrichOperator = defineOperator({
  type: 'enrich',
  description: 'Adds E.164 phone numbers (country, type, area code), lookup-table rows, durations and local time / business hours.',
  configSchema: enrichConfigSchema,
  // Lookup files are part of the pipeline's definition (relative to its file): validate loads
  // them as create does, so one that is missing or does not parse is a located config error.
  async preflight(config, ctx) {
    const problems: PreflightProblem[] = [];
    for (const [i, l] of config.lookups.entries()) {
      try {
        await new LookupTable(resolve(ctx.baseDir, l.file), l.key).reloadIfChanged();
      } catch (err) {
        const path = ['lookups', i, 'file'];
        if ((err as { code?: string }).code === 'LOOKUP_FILE_INVALID') problems.push({ code: 'CONFIG_LOOKUP_INVALID', path, message: `${(err as Error).message}: fix the file` });
        else problems.push({ code: 'CONFIG_FILE_UNREADABLE', path, message: `${(err as Error).message}: fix the path (relative to the pipeline file), or create the file` });
      }
    }
    return problems;
  },
  async create(config, ctx: OperatorContext) {
    const steps: Step[] = [];
    if (config.duration)
      steps.push((d, e) => {
        if (e.durationSec === undefined && e.endTime) {
          const sec = (msFromIso(e.endTime) - msFromIso(e.time)) / 1000;
          if (Number.isFinite(sec) && sec >= 0) (d.top ??= {}).durationSec = sec;
        }
      });
    if (config.phone !== false) steps.push(phoneStep(config.phone, await PhoneNormalizer.create(config.phone.default_region)));
    const timers: Timer[] = [];
    for (const l of config.lookups) {
      const table = new LookupTable(resolve(ctx.baseDir, l.file), l.key);
      await table.reloadIfChanged();
      ctx.logger.info({ file: l.file, rows: table.size }, 'lookup table loaded');
      steps.push(lookupStep(l, table));
      if (l.reload_interval > 0) {
        const timer = ctx.clock.setInterval(() => {
          table.reloadIfChanged().then(
            (changed) => changed && ctx.logger.info({ file: l.file, rows: table.size }, 'lookup table reloaded'),
            // A file caught mid-write or removed: the previous rows stay in use, the error is reported (retriable: logged and counted).
            (err: unknown) => ctx.reportError(new PipelineError('LOOKUP_RELOAD_FAILED', `lookup table ${l.file} not reloaded, its previous rows stay in use: ${(err as Error).message}`, { cause: err, retriable: true, fields: { file: l.file } })),
          );
        }, l.reload_interval);
        timers.push(timer);
      }
    }
    if (config.local_time) steps.push(localTimeStep(config.local_time));
    const copying = (e: CallEvent): CallEvent => {
      // Object.assign, not spread: V8 makes "spread, then add a key" several times slower.
      const attrs: Record<string, unknown> = Object.assign({}, e.attributes);
      const d: Draft = { attrs, top: undefined, deep: undefined };
      for (const s of steps) s(d, e);
      const event: CallEvent = d.top ? Object.assign({}, e, d.top, { attributes: attrs }) : { ...e, attributes: attrs };
      // The copy's fields by name, for the targets deeper than one level.
      const out: Record<string, unknown> = event;
      if (d.deep) for (const [parts, value] of d.deep) setInCopy(out, parts, value);
      return event;
    };
    // An event the operator owns (ctx.ownsEvents) gets the same keys in the same order, without a
    // copy. The steps read top-level fields from the event (written only after them) and
    // attributes through the draft, as they do on a copy: the first step writing an attribute
    // (phone) reads its fields before it writes.
    const inPlace = (e: CallEvent): CallEvent => {
      const own = e.attributes as Record<string, unknown> | null | undefined;
      const attrs: Record<string, unknown> = own !== null && typeof own === 'object' ? own : {};
      const d: Draft = { attrs, top: undefined, deep: undefined };
      for (const s of steps) s(d, e);
      const out: Record<string, unknown> = e;
      if (d.top) Object.assign(out, d.top);
      if (attrs !== own) out.attributes = attrs;
      if (d.deep) for (const [parts, value] of d.deep) setInCopy(out, parts, value);
      return e;
    };
    return {
      apply: mapEventsOwning(() => ctx.ownsEvents?.() ?? false, copying, inPlace),
      handsOverEvents: true,
      async close() {
        for (const t of timers) t.cancel();
      },
    };
  },
});
