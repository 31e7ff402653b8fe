import { isoFromMs } from '@plumline/core/util';
import { MemoMap } from '../memo-map.js';

/** Local time of day and calendar facts of an instant in one IANA zone. */
export interface LocalTime {
  /** `YYYY-MM-DDTHH:mm:ss` in the zone, without offset. */
  local: string;
  /** The zone's offset from UTC, in minutes, at that instant. */
  offsetMin: number;
  hour: number;
  /** mon … sun */
  weekday: string;
  /** `YYYY-MM-DD` in the zone. */
  date: string;
  /** Minutes since local midnight. */
  minuteOfDay: number;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const mod = (a: number, b: number) => ((a % b) + b) % b;
/** Cached hours (≈ 11 years of hourly offsets); the cache restarts when full. */
const MAX_CACHED_HOURS = 100_000;

/**
 * Converts instants to local time in one zone. Intl is slow (microseconds per call), and zone
 * offsets only change on the hour in every zone in use today, so offsets are cached per UTC hour.
 */
export class LocalClock {
  private readonly fmt: Intl.DateTimeFormat;
  /** Offsets by UTC hour. */
  private readonly offsets = new MemoMap<number, number>(MAX_CACHED_HOURS, (hour) => this.offsetMinOfHour(hour));

  constructor(readonly zone: string) {
    // Throws RangeError for an unknown zone: the config schema checks with the same call.
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  offsetMinAt(ms: number): number {
    return this.offsets.get(Math.floor(ms / HOUR_MS));
  }

  private offsetMinOfHour(hour: number): number {
    const p: Record<string, string> = {};
    for (const part of this.fmt.formatToParts(new Date(hour * HOUR_MS))) p[part.type] = part.value;
    const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
    return Math.round((asUtc - hour * HOUR_MS) / 60_000);
  }

  at(ms: number): LocalTime {
    const offsetMin = this.offsetMinAt(ms);
    const local = ms + offsetMin * 60_000;
    const iso = isoFromMs(local);
    const minuteOfDay = Math.floor(mod(local, DAY_MS) / 60_000);
    // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
    const weekday = WEEKDAYS[mod(Math.floor(local / DAY_MS) + 4, 7)]!;
    return { local: iso.slice(0, 19), offsetMin, hour: Math.floor(minuteOfDay / 60), weekday, date: iso.slice(0, 10), minuteOfDay };
  }
}

/** True when `zone` is an IANA zone this runtime knows. */
export function isKnownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
