import { systemClock, type Clock } from '@plumline/core/util';
import type { CliIo } from './main.js';
import { opsBaseUrl, unreachable } from './ops-url.js';

/** One sample of a metric: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the lines `top` needs: samples with labels). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export interface ComponentRow {
  id: string;
  kind: string;
  type: string;
  eventsIn: number;
  eventsOut: number;
  inPerSec: number;
  outPerSec: number;
  errors: number;
  retries: number;
  dead: number;
  inFlight: number;
  lagSec: number | undefined;
  /** Records waiting to be read, summed over the source's partitions (Kafka sources). */
  backlog: number | undefined;
}

const METRIC = {
  in: 'plumline_component_events_in_total',
  out: 'plumline_component_events_out_total',
  errors: 'plumline_component_errors_total',
  retries: 'plumline_component_retries_total',
  dead: 'plumline_component_dead_lettered_total',
  inFlight: 'plumline_component_in_flight_batches',
  lag: 'plumline_component_checkpoint_lag_seconds',
  backlog: 'plumline_source_backlog_records',
};

/**
 * Rows per component from two scrapes `dtSec` apart (rates from the difference), in `order` (the
 * graph order /status gives: sources, each transform after its inputs, sinks); without it, or for
 * a component it does not name, sources, transforms and sinks each by name.
 */
export function componentRows(now: Sample[], before: Sample[] | undefined, dtSec: number, order: readonly string[] = []): ComponentRow[] {
  const rows = new Map<string, ComponentRow>();
  const row = (s: Sample) => {
    const id = s.labels.component!;
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { id, kind: s.labels.component_kind ?? '', type: s.labels.component_type ?? '', eventsIn: 0, eventsOut: 0, inPerSec: 0, outPerSec: 0, errors: 0, retries: 0, dead: 0, inFlight: 0, lagSec: undefined, backlog: undefined }));
    return r;
  };
  const prev = new Map((before ?? []).map((s) => [`${s.name}|${s.labels.component}`, s.value]));
  const rate = (s: Sample) => (before && dtSec > 0 ? Math.max(0, s.value - (prev.get(`${s.name}|${s.labels.component}`) ?? 0)) / dtSec : 0);
  for (const s of now) {
    if (!s.labels.component) continue;
    const r = row(s);
    if (s.name === METRIC.in) [r.eventsIn, r.inPerSec] = [s.value, rate(s)];
    else if (s.name === METRIC.out) [r.eventsOut, r.outPerSec] = [s.value, rate(s)];
    else if (s.name === METRIC.errors) r.errors = s.value;
    else if (s.name === METRIC.retries) r.retries = s.value;
    else if (s.name === METRIC.dead) r.dead = s.value;
    else if (s.name === METRIC.inFlight) r.inFlight = s.value;
    else if (s.name === METRIC.lag) r.lagSec = s.value;
    else if (s.name === METRIC.backlog) r.backlog = (r.backlog ?? 0) + s.value;
  }
  const kindOrder = { source: 0, transform: 1, sink: 2 } as Record<string, number>;
  const place = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  return [...rows.values()].sort((a, b) => place(a.id) - place(b.id) || (kindOrder[a.kind] ?? 3) - (kindOrder[b.kind] ?? 3) || a.id.localeCompare(b.id));
}

/** A lag as people read it, in at most two units: 4.2s, 3m07s, 2h05m, 333d1h. */
export function formatLag(sec: number): string {
  if (sec < 60) return `${Math.max(0, sec).toFixed(1)}s`;
  const s = Math.floor(sec);
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

const num = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n)));

/** The widest component column `top` draws: longer ids are cut with an ellipsis. */
const MAX_ID_WIDTH = 40;

/** The frame `top` draws: a header and one line per component (the id column as wide as the longest id, 16 to 40). */
export function renderTop(url: string, rows: ComponentRow[], health: string, nowMs = systemClock.now()): string {
  const w = Math.min(MAX_ID_WIDTH, Math.max(16, ...rows.map((r) => r.id.length)));
  const id = (s: string) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const head = `${'component'.padEnd(w)} ${'kind'.padEnd(9)} ${'type'.padEnd(12)} ${'in/s'.padStart(8)} ${'out/s'.padStart(8)} ${'in'.padStart(8)} ${'out'.padStart(8)} ${'errors'.padStart(6)} ${'retries'.padStart(7)} ${'dead'.padStart(6)} ${'inflight'.padStart(8)} ${'lag'.padStart(8)} ${'backlog'.padStart(8)}`;
  const lines = rows.map(
    (r) =>
      `${id(r.id)} ${r.kind.padEnd(9)} ${r.type.slice(0, 12).padEnd(12)} ${num(r.inPerSec).padStart(8)} ${num(r.outPerSec).padStart(8)} ${num(r.eventsIn).padStart(8)} ${num(r.eventsOut).padStart(8)} ${num(r.errors).padStart(6)} ${num(r.retries).padStart(7)} ${num(r.dead).padStart(6)} ${num(r.inFlight).padStart(8)} ${(r.lagSec === undefined ? '-' : formatLag(r.lagSec)).padStart(8)} ${(r.backlog === undefined ? '-' : num(r.backlog)).padStart(8)}`,
  );
  return [`plumline top — ${url} — ${health} — ${new Date(nowMs).toISOString().slice(11, 19)}`, '', head, ...lines].join('\n') + '\n';
}

/** What `top` reads of a source's tenants in /status (ComponentStats.tenants). */
export interface TenantsOfComponent {
  id: string;
  tenants: { total: number; failingCount: number; failing: { account: string; state: string; error?: { code?: string; message: string }; nextAttemptMs?: number }[]; behindCount: number; behind: { account: string; lagSec?: number }[] };
}

/** The lines under the table for sources of many accounts: how many, then the failing and the furthest behind, by name. */
export function renderTenants(sources: readonly TenantsOfComponent[], nowMs = systemClock.now()): string {
  const lines: string[] = [];
  for (const { id, tenants: t } of sources) {
    lines.push(`${id}: ${t.total} accounts, ${t.failingCount} failing, ${t.behindCount} behind`);
    for (const f of t.failing) lines.push(`  failing  ${f.account}  ${f.error?.code ?? 'error'}${f.state === 'failed' ? '  given up' : f.nextAttemptMs ? `  retry in ${formatLag(Math.max(0, (f.nextAttemptMs - nowMs) / 1000))}` : '  retrying'}`);
    if (t.failingCount > t.failing.length) lines.push(`  … ${t.failingCount - t.failing.length} more failing`);
    for (const b of t.behind) lines.push(`  behind   ${b.account}  ${b.lagSec === undefined ? '-' : formatLag(b.lagSec)}`);
    if (t.behindCount > t.behind.length) lines.push(`  … ${t.behindCount - t.behind.length} more behind`);
  }
  return lines.length ? `\n${lines.join('\n')}\n` : '';
}

/**
 * `plumline top <url>`: reads the pipeline's /metrics and /readyz every interval and shows each
 * component's rates, totals, errors, retries, dead letters, batches in flight and checkpoint lag,
 * like `vector top`. On a TTY the frame is redrawn in place; `--frames N` stops after N frames.
 */
export async function topCommand(url: string | undefined, opts: { intervalMs: number; frames: number | undefined; clock?: Clock }, io: CliIo): Promise<number> {
  const clock = opts.clock ?? systemClock;
  if (!url) {
    io.stderr.write('error: plumline top needs the URL of a pipeline run with --http, e.g. plumline top http://127.0.0.1:9464\n');
    return 2;
  }
  const base = opsBaseUrl(url);
  if (!base) {
    io.stderr.write(`error: plumline top takes the address of a pipeline run with --http: host:port (as --http takes it) or http://host:port, not "${url}"\n`);
    return 2;
  }
  const tty = (io.stdout as NodeJS.WriteStream).isTTY === true;
  let before: Sample[] | undefined;
  let order: string[] | undefined;
  let beforeMs = 0;
  let stop = false;
  const onSignal = () => (stop = true);
  process.once('SIGINT', onSignal);
  try {
    for (let frame = 0; !stop && (opts.frames === undefined || frame < opts.frames); frame++) {
      let samples: Sample[];
      let health = 'unknown';
      let tenants: TenantsOfComponent[] = [];
      try {
        const status = await statusOf(base);
        order ??= status.map((c) => c.id);
        tenants = status.filter((c): c is TenantsOfComponent => c.tenants !== undefined);
        samples = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
        const ready = await fetch(`${base}/readyz`);
        health = ready.ok ? 'ready' : `NOT READY ${JSON.stringify(Object.fromEntries(Object.entries(((await ready.json()) as { components?: Record<string, { ok: boolean; reason?: string }> }).components ?? {}).filter(([, c]) => !c.ok).map(([id, c]) => [id, c.reason])))}`;
      } catch (err) {
        io.stderr.write(`error: ${unreachable(base, err)}\n`);
        return 1;
      }
      const now = clock.now();
      const text = renderTop(base, componentRows(samples, before, (now - beforeMs) / 1000, order), health, now) + renderTenants(tenants, now);
      io.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : text + '\n');
      before = samples;
      beforeMs = now;
      if (opts.frames !== undefined && frame + 1 >= opts.frames) break;
      // Held open: between frames nothing else may be pending.
      await new Promise((r) => clock.setTimeout(() => r(undefined), opts.intervalMs, { keepAlive: true }));
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** The components in graph order with their tenants, from the pipeline's /status (none from a server without it: top then sorts by kind and name). */
async function statusOf(base: string): Promise<{ id: string; tenants?: TenantsOfComponent['tenants'] }[]> {
  const res = await fetch(`${base}/status`);
  if (!res.ok) return [];
  return ((await res.json()) as { components?: { id: string; stats?: { tenants?: TenantsOfComponent['tenants'] } }[] }).components?.map((c) => ({ id: c.id, ...(c.stats?.tenants ? { tenants: c.stats.tenants } : {}) })) ?? [];
}
