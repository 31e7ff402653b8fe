// @ts-check
// The web view of a running plumline pipeline (OpsHandler's /ui/). Plain JavaScript, no build
// step and no dependency: it reads ../status every second and draws it; the tap reads
// ../tap/<component>. URLs are relative, so the view works wherever the handler is mounted
// (a prefix, a proxy that authenticates: the browser sends the same credentials).

const REFRESH_MS = 1000;
/** Errors kept in the list while the page is open (the server keeps each component's last one). */
const ERROR_HISTORY = 50;
/** The stats fields the table shows; anything else a component's stats or health carry (per-tenant detail) goes to "More per component". */
const KNOWN_STATS = new Set(['eventsIn', 'eventsOut', 'bytesOut', 'errors', 'retries', 'deadLettered', 'inFlightBatches', 'checkpointLagSec', 'progress', 'backlog', 'holding', 'nextPollAtMs', 'lastError']);
const KNOWN_HEALTH = new Set(['ok', 'reason']);

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * An element with attributes and children (text is always set as text, never parsed as HTML).
 * @param {string} tag @param {Record<string, string>} [attrs] @param {...(Node | string | number | undefined)} children
 */
function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'rect', 'text', 'path', 'title', 'tspan'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== undefined) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

/** @param {number} n */
const num = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1));

/** A lag as `plumline top` shows it: 4.2s, 3m07s, 2h05m, 333d1h. @param {number} sec */
function lag(sec) {
  if (sec < 60) return `${Math.max(0, sec).toFixed(1)}s`;
  const s = Math.floor(sec);
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** @param {number} ms */
const clock = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** @type {any} */
let previous;
/** @type {Map<string, any>} */
const errorHistory = new Map();
/** @type {AbortController | undefined} */
let tapping;

/** Per component, events per second in and out since the previous status. @param {any} doc */
function rates(doc) {
  /** @type {Record<string, {in: number, out: number}>} */
  const out = {};
  const dt = previous ? (doc.atMs - previous.atMs) / 1000 : 0;
  for (const c of doc.components) {
    const before = previous?.components.find((/** @type {any} */ p) => p.id === c.id)?.stats;
    const now = c.stats ?? { eventsIn: 0, eventsOut: 0 };
    out[c.id] = before && dt > 0 ? { in: Math.max(0, now.eventsIn - before.eventsIn) / dt, out: Math.max(0, now.eventsOut - before.eventsOut) / dt } : { in: 0, out: 0 };
  }
  return out;
}

/** @param {any} doc */
function renderHeader(doc) {
  $('pipeline').textContent = doc.pipeline;
  $('version').textContent = doc.version ? `plumline ${doc.version}` : '';
  document.title = `${doc.pipeline} — plumline`;
  const hl = doc.health;
  const failing = doc.components.filter((/** @type {any} */ c) => c.health && !c.health.ok);
  const [text, cls] = hl.error ? ['failed', 'bad'] : hl.finished ? ['finished', 'warn'] : !hl.started ? ['starting', 'warn'] : failing.length ? [`not ready: ${failing.map((/** @type {any} */ c) => `${c.id} (${c.health.reason ?? 'failing'})`).join(', ')}`, 'warn'] : ['ready', 'ok'];
  const state = $('state');
  state.textContent = text;
  state.className = `badge ${cls}`;
  $('updated').textContent = `updated ${clock(doc.atMs)} UTC`;
}

/**
 * The graph as an SVG: a column per depth (sources first, each transform right of its inputs,
 * sinks last), in graph order inside a column, an edge per input.
 * @param {any} doc @param {Record<string, {in: number, out: number}>} rate
 */
function renderGraph(doc, rate) {
  /** @type {Map<string, any>} */
  const byId = new Map(doc.components.map((/** @type {any} */ c) => [c.id, c]));
  /** @type {Map<string, number>} */
  const depth = new Map();
  const takesDead = doc.components.some((/** @type {any} */ c) => c.inputs.includes('dead_letter'));
  const inputDepth = (/** @type {string} */ ref) => (ref === 'dead_letter' ? deadDepth : depth.get(ref.split('.')[0]) ?? 0);
  let deadDepth = 0;
  for (const c of doc.components) {
    if (c.kind === 'source') depth.set(c.id, 0);
    else if (c.kind === 'transform') depth.set(c.id, 1 + Math.max(0, ...c.inputs.map(inputDepth)));
  }
  deadDepth = Math.max(0, ...[...depth.values()]);
  for (const c of doc.components) if (c.kind === 'sink') depth.set(c.id, 1 + Math.max(0, ...c.inputs.map(inputDepth)));
  /** @type {{id: string, kind: string, type: string, virtual?: boolean}[]} */
  const nodes = [...doc.components];
  if (takesDead) {
    nodes.push({ id: 'dead_letter', kind: 'source', type: 'refused records', virtual: true });
    depth.set('dead_letter', deadDepth);
  }
  const W = 170, H = 58, GX = 44, GY = 18, PAD = 12;
  /** @type {Map<number, number>} */
  const rows = new Map();
  /** @type {Map<string, {x: number, y: number}>} */
  const at = new Map();
  for (const n of nodes) {
    const col = depth.get(n.id) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    at.set(n.id, { x: PAD + col * (W + GX), y: PAD + row * (H + GY) });
  }
  const width = PAD * 2 + (Math.max(...rows.keys()) + 1) * (W + GX) - GX;
  const height = PAD * 2 + Math.max(...rows.values()) * (H + GY) - GY;
  // As wide as it needs up to the page's width, scaled down beyond that (long chains).
  const svg = h('svg', { width: String(width), height: String(height), viewBox: `0 0 ${width} ${height}`, style: 'max-width: 100%; height: auto', role: 'img', 'aria-label': 'pipeline graph' });
  for (const c of doc.components) {
    for (const ref of c.inputs) {
      const from = at.get(ref === 'dead_letter' ? 'dead_letter' : ref.split('.')[0]);
      const to = at.get(c.id);
      if (!from || !to) continue;
      const [x1, y1, x2, y2] = [from.x + W, from.y + H / 2, to.x, to.y + H / 2];
      const mx = (x1 + x2) / 2;
      svg.append(h('path', { class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'data-edge': `${ref}->${c.id}` }));
      if (ref.includes('.')) svg.append(h('text', { class: 'edge-label', x: String(x1 + 4), y: String(y1 - 4) }, ref.slice(ref.indexOf('.') + 1)));
    }
  }
  for (const n of nodes) {
    const p = /** @type {{x: number, y: number}} */ (at.get(n.id));
    const c = byId.get(n.id);
    const s = c?.stats;
    const cls = ['node', n.kind, n.virtual ? 'virtual' : '', s?.errors ? 'errors' : '', c?.health && !c.health.ok ? 'failing' : ''].filter(Boolean).join(' ');
    const r = rate[n.id];
    const line = n.virtual ? '' : n.kind === 'sink' ? `${num(r?.in ?? 0)}/s in` : `${num(r?.out ?? 0)}/s out`;
    const extra = s ? [s.errors ? `${num(s.errors)} err` : '', s.deadLettered ? `${num(s.deadLettered)} dead` : ''].filter(Boolean).join(' · ') : '';
    svg.append(
      h('g', { class: cls, transform: `translate(${p.x},${p.y})`, 'data-component': n.id },
        h('title', {}, `${n.id} (${n.kind}, ${n.type})`),
        h('rect', { width: String(W), height: String(H) }),
        h('text', { class: 'id', x: '10', y: '18' }, n.id),
        h('text', { class: 'type', x: '10', y: '33' }, n.virtual ? n.type : `${n.kind} · ${n.type}`),
        h('text', { class: 'rate', x: '10', y: '49' }, line, extra ? h('tspan', { class: 'bad' }, `  ${extra}`) : undefined),
      ),
    );
  }
  $('graph').replaceChildren(svg);
}

/** What an operator holds, as text: "1234 keys". @param {Record<string, number> | undefined} holding */
const holdingText = (holding) => Object.entries(holding ?? {}).map(([k, v]) => `${num(v)} ${k}`).join(', ');

/** @param {any} doc @param {Record<string, {in: number, out: number}>} rate */
function renderComponents(doc, rate) {
  const body = /** @type {HTMLElement} */ ($('components').querySelector('tbody'));
  body.replaceChildren(
    ...doc.components.map((/** @type {any} */ c) => {
      const s = c.stats ?? {};
      const backlog = s.backlog ? Object.values(s.backlog).reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0) : undefined;
      const cell = (/** @type {string} */ text, cls = 'n') => h('td', { class: cls }, text);
      return h('tr', { 'data-component': c.id },
        h('td', {}, h('strong', {}, c.id)), h('td', {}, c.kind), h('td', {}, c.type),
        cell(num(rate[c.id]?.in ?? 0)), cell(num(rate[c.id]?.out ?? 0)), cell(num(s.eventsIn ?? 0)), cell(num(s.eventsOut ?? 0)),
        cell(num(s.errors ?? 0), s.errors ? 'n bad' : 'n'), cell(num(s.retries ?? 0), s.retries ? 'n warn' : 'n'), cell(num(s.deadLettered ?? 0), s.deadLettered ? 'n warn' : 'n'),
        cell(num(s.inFlightBatches ?? 0)), cell(c.kind === 'source' ? lag(s.checkpointLagSec ?? 0) : '-'), cell(backlog === undefined ? '-' : num(backlog)),
        cell(holdingText(s.holding) || '-', ''), cell(c.health ? (c.health.ok ? 'ok' : c.health.reason ?? 'failing') : '-', c.health && !c.health.ok ? 'warn' : ''),
      );
    }),
  );
}

/** @param {any} doc */
function renderSources(doc) {
  $('sources').replaceChildren(
    ...doc.components.filter((/** @type {any} */ c) => c.kind === 'source').map((/** @type {any} */ c) => {
      const s = c.stats ?? {};
      const next = s.nextPollAtMs === undefined ? (s.progress && s.progress.done < s.progress.total ? 'reading' : '-') : s.nextPollAtMs <= doc.atMs ? 'now' : `in ${lag((s.nextPollAtMs - doc.atMs) / 1000)} (${clock(s.nextPollAtMs)} UTC)`;
      const progress = s.progress ? `${s.progress.done}/${s.progress.total} ${s.progress.unit}` : '-';
      return h('div', { class: 'source-card', 'data-source': c.id },
        h('strong', {}, c.id), ` (${c.type}) — next poll: `, h('span', { class: 'next-poll' }, next), ` — progress: ${progress}`,
        c.checkpoint ? h('pre', { class: 'checkpoint' }, `checkpoint #${c.checkpoint.seq}${doc.checkpointsAtMs ? ` (stored ${clock(doc.checkpointsAtMs)} UTC)` : ''}: ${JSON.stringify(c.checkpoint.position, annotateTimes, 1)}`) : h('p', { class: 'muted' }, 'no checkpoint stored yet'),
      );
    }),
  );
}

/** JSON.stringify replacer: a number that reads as a time in epoch milliseconds or seconds (2001–2100) gets its UTC time beside it. @param {string} _k @param {unknown} v */
function annotateTimes(_k, v) {
  if (typeof v !== 'number' || !Number.isInteger(v)) return v;
  if (v > 978307200000 && v < 4102444800000) return `${v} (${clock(v)})`;
  if (v > 978307200 && v < 4102444800) return `${v} (${clock(v * 1000)})`;
  return v;
}

/**
 * What a component's stats or health carry beyond the table's columns (a source's per-tenant
 * status, a plugin's own fields), drawn as tables where they are lists or maps of records.
 * @param {any} doc
 */
function renderDetails(doc) {
  const blocks = [];
  for (const c of doc.components) {
    const extra = [
      ...Object.entries(c.stats ?? {}).filter(([k]) => !KNOWN_STATS.has(k)),
      ...Object.entries(c.health ?? {}).filter(([k]) => !KNOWN_HEALTH.has(k)),
    ];
    for (const [key, value] of extra) blocks.push(h('div', { class: 'detail', 'data-component': c.id }, h('h3', {}, `${c.id}: ${key}`), anyValue(value)));
  }
  $('details-section').hidden = blocks.length === 0;
  $('details').replaceChildren(...blocks);
}

/** A value of unknown shape: records as a table, anything else as JSON. @param {unknown} value @returns {Node} */
function anyValue(value) {
  const rows = Array.isArray(value) ? value.map((v, i) => /** @type {[string, unknown]} */ ([String(i), v])) : value && typeof value === 'object' ? Object.entries(value) : undefined;
  if (!rows || rows.length === 0 || !rows.every(([, v]) => v && typeof v === 'object' && !Array.isArray(v))) return h('pre', {}, JSON.stringify(value, annotateTimes, 1));
  const cols = [...new Set(rows.flatMap(([, v]) => Object.keys(/** @type {object} */ (v))))];
  const text = (/** @type {unknown} */ v) => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const shown = rows.slice(0, 200);
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, Array.isArray(value) ? '#' : 'key'), ...cols.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...shown.map(([k, v]) => h('tr', {}, h('td', {}, k), ...cols.map((c) => h('td', {}, text(/** @type {any} */ (v)[c])))))),
    rows.length > shown.length ? h('caption', {}, `${rows.length - shown.length} more not shown`) : undefined,
  );
}

/** @param {any} doc */
function renderErrors(doc) {
  for (const e of doc.errors) errorHistory.set(`${e.component}|${e.atMs}|${e.message}`, e);
  const all = [...errorHistory.values()].sort((a, b) => b.atMs - a.atMs).slice(0, ERROR_HISTORY);
  errorHistory.clear();
  for (const e of all) errorHistory.set(`${e.component}|${e.atMs}|${e.message}`, e);
  /** @type {HTMLElement} */ ($('errors').querySelector('tbody')).replaceChildren(
    ...all.map((e) => h('tr', { class: 'error' }, h('td', {}, clock(e.atMs)), h('td', {}, e.component), h('td', { class: 'mono' }, e.code ?? ''), h('td', {}, e.message), h('td', {}, e.retriable ? 'yes' : 'no'))),
  );
  $('no-errors').hidden = all.length > 0;
}

/** @param {any} doc */
function renderDeadLetters(doc) {
  /** @type {HTMLElement} */ ($('dead').querySelector('tbody')).replaceChildren(
    ...doc.deadLetters.map((/** @type {any} */ d) => h('tr', { class: 'dead-letter' }, h('td', {}, clock(d.atMs)), h('td', {}, d.component), h('td', { class: 'mono' }, d.code), h('td', {}, d.reason), h('td', { class: 'mono' }, d.record))),
  );
  $('no-dead').hidden = doc.deadLetters.length > 0;
}

/** The tap's choices: every source and transform output, and the dead letters. @param {any} doc */
function renderTapChoices(doc) {
  const select = /** @type {HTMLSelectElement} */ ($('tap-ref'));
  const refs = [
    ...doc.components.filter((/** @type {any} */ c) => c.kind !== 'sink').flatMap((/** @type {any} */ c) => (c.outputs.length ? c.outputs.map((/** @type {string} */ o) => `${c.id}.${o}`) : [c.id])),
    'dead_letter',
  ];
  if ([...select.options].map((o) => o.value).join() === refs.join()) return;
  const chosen = select.value;
  select.replaceChildren(...refs.map((r) => h('option', { value: r }, r)));
  if (refs.includes(chosen)) select.value = chosen;
}

/** Operators upstream of `ref` that hold events now (a quiet tap's likely reason). @param {string} ref */
function heldUpstream(ref) {
  if (!previous) return [];
  /** @type {Map<string, any>} */
  const byId = new Map(previous.components.map((/** @type {any} */ c) => [c.id, c]));
  const seen = new Set();
  const out = [];
  const stack = [ref.split('.')[0]];
  while (stack.length) {
    const c = byId.get(/** @type {string} */ (stack.pop()));
    if (!c || seen.has(c.id)) continue;
    seen.add(c.id);
    if (c.stats?.holding?.events) out.push(`${c.id} (${c.type}) holds ${c.stats.holding.events} events; they leave when they are matched or their window closes`);
    stack.push(...c.inputs.map((/** @type {string} */ i) => i.split('.')[0]));
  }
  return out;
}

/** Streams ../tap/<ref> into the list until `limit` events came, Stop, or the pipeline ended. */
async function startTap() {
  stopTap();
  const ref = /** @type {HTMLSelectElement} */ ($('tap-ref')).value;
  const limit = Math.max(1, Math.min(1000, Number(/** @type {HTMLInputElement} */ ($('tap-limit')).value) || 20));
  const list = $('tap-events');
  list.replaceChildren();
  const controller = (tapping = new AbortController());
  $('tap-stop').removeAttribute('disabled');
  const held = heldUpstream(ref);
  $('tap-hint').textContent = `Watching ${ref}: waiting for events…${held.length ? ` ${held.join('; ')}.` : ''}`;
  let count = 0;
  try {
    const res = await fetch(`../tap/${encodeURIComponent(ref)}?limit=${limit}`, { signal: controller.signal, cache: 'no-store' });
    if (!res.ok || !res.body) throw new Error(`${res.status} ${(await res.text()).trim()}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const lines = (rest + value).split('\n');
      rest = /** @type {string} */ (lines.pop());
      for (const line of lines.filter(Boolean)) {
        count++;
        list.append(h('li', { class: 'tap-event' }, line));
        $('tap-hint').textContent = `Watching ${ref}: ${count} of ${limit} events.`;
      }
    }
    $('tap-hint').textContent = `${ref}: ${count} events${count < limit ? ' (the pipeline ended)' : ''}.`;
  } catch (err) {
    if (!controller.signal.aborted) $('tap-hint').textContent = `The tap of ${ref} failed: ${/** @type {Error} */ (err).message}`;
  } finally {
    if (tapping === controller) {
      tapping = undefined;
      $('tap-stop').setAttribute('disabled', '');
    }
  }
}

function stopTap() {
  tapping?.abort();
  tapping = undefined;
  $('tap-stop').setAttribute('disabled', '');
}

async function refresh() {
  try {
    const res = await fetch('../status', { cache: 'no-store' });
    if (!res.ok) throw new Error(`status answered ${res.status}`);
    const doc = await res.json();
    const rate = rates(doc);
    renderHeader(doc);
    renderGraph(doc, rate);
    renderComponents(doc, rate);
    renderSources(doc);
    renderDetails(doc);
    renderErrors(doc);
    renderDeadLetters(doc);
    renderTapChoices(doc);
    previous = doc;
  } catch (err) {
    const state = $('state');
    state.textContent = `cannot read the status: ${/** @type {Error} */ (err).message}`;
    state.className = 'badge bad';
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

$('tap-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void startTap();
});
$('tap-stop').addEventListener('click', stopTap);
void refresh();
