import type { Logger, Pipeline, Timer } from '@plumline/core';
import { systemClock, type Clock } from '@plumline/core/util';

/** How often the bars are redrawn on a TTY. */
export const PROGRESS_REDRAW_MS = 250;
/** How often a progress line is logged when stderr is not a TTY. */
export const PROGRESS_LOG_INTERVAL_MS = 10_000;
const BAR_WIDTH = 24;

const fmtDuration = (sec: number) => (!Number.isFinite(sec) ? '?' : sec >= 3600 ? `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m` : sec >= 60 ? `${Math.floor(sec / 60)}m${String(Math.floor(sec % 60)).padStart(2, '0')}s` : `${Math.round(sec)}s`);

interface Row {
  id: string;
  done: number;
  total: number;
  unit: string;
  events: number;
  rate: number;
  etaSec: number;
}

/**
 * `--once` progress: on a TTY, a bar per source (parts of its range done, events, rate, ETA)
 * redrawn in place on stderr; otherwise a plain log line now and then. Reads `pipeline.stats()`.
 */
export class ProgressView {
  private timer: Timer | undefined;
  private readonly startedMs: number;
  private drawnLines = 0;
  private readonly tty: boolean;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly out: NodeJS.WritableStream,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.tty = (out as NodeJS.WriteStream).isTTY === true;
    this.startedMs = clock.now();
  }

  start(): void {
    this.timer = this.clock.setInterval(() => (this.tty ? this.draw() : this.log()), this.tty ? PROGRESS_REDRAW_MS : PROGRESS_LOG_INTERVAL_MS);
  }

  stop(): void {
    if (!this.timer) return;
    this.timer.cancel();
    this.timer = undefined;
    if (this.tty) this.draw();
  }

  rows(): Row[] {
    const elapsedSec = Math.max(0.001, (this.clock.now() - this.startedMs) / 1000);
    const ids = new Set(this.pipeline.definition.sources.map((s) => s.id));
    return Object.entries(this.pipeline.stats())
      .filter(([id]) => ids.has(id))
      .map(([id, s]) => {
        const p = s.progress;
        const doneRate = p && p.done > 0 ? p.done / elapsedSec : 0;
        return { id, done: p?.done ?? 0, total: p?.total ?? 0, unit: p?.unit ?? '', events: s.eventsOut, rate: s.eventsOut / elapsedSec, etaSec: p && p.total > p.done ? (doneRate > 0 ? (p.total - p.done) / doneRate : Number.POSITIVE_INFINITY) : 0 };
      });
  }

  /** One line per source, for a terminal. */
  render(): string[] {
    return this.rows().map((r) => {
      const frac = r.total > 0 ? r.done / r.total : 0;
      const filled = Math.round(frac * BAR_WIDTH);
      const bar = r.total > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${r.done}/${r.total} ${r.unit}` : '[ … ]';
      return `${r.id.padEnd(12)} ${bar}  ${r.events.toLocaleString('en-US')} events  ${Math.round(r.rate).toLocaleString('en-US')}/s  ETA ${r.total > 0 ? fmtDuration(r.etaSec) : '?'}`;
    });
  }

  private draw(): void {
    const lines = this.render();
    // Move up over the previous frame and redraw it in place.
    const up = this.drawnLines ? `\x1b[${this.drawnLines}F` : '';
    this.out.write(up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
    this.drawnLines = lines.length;
  }

  private log(): void {
    for (const r of this.rows()) this.logger.info({ source: r.id, done: r.done, total: r.total, unit: r.unit, events: r.events, eventsPerSec: Math.round(r.rate), etaSec: Number.isFinite(r.etaSec) ? Math.round(r.etaSec) : null }, 'progress');
  }
}
