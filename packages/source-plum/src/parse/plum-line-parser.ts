import { createHash } from 'node:crypto';
import { PipelineError, type CallEvent } from '@plumline/core';
import { isoFromMs } from '@plumline/core/util';
import { parseClfInZone } from './zoned-time.js';

/** The zone of Plum's wall clock when the config does not say (error lines carry no epoch). */
export const DEFAULT_PLUM_TIME_ZONE = 'America/New_York';
export const PLUM_SOURCE = 'plum';

const SESSION_RE = /^(inbound|outbound) (\S+) (\d+) \[([^\]]+)\] (\S+) ((\d+);(\d+);(\d+)) (\d+) (\d+) (\d+):(\d{2}):(\d{2})$/;
const ERROR_RE = /^error (\S+) (\d+) \[([^\]]+)\] (\S+) ((\d+);(\d+);(\d+)) (.+)$/;

/** A Plum line that does not match its documented format. The reason says what was expected. */
export class PlumLineError extends PipelineError {
  constructor(reason: string, readonly line: string) {
    super('PLUM_LINE_UNPARSEABLE', reason, { retriable: false, fields: { line: line.slice(0, 300) } });
  }
}

const iso = (sec: number): string => isoFromMs(sec * 1000);

/**
 * Parses a session line: `{direction} {number} {channel} [{local time}] {peer} {session_id}
 * {start} {end} {HH:MM:SS}`. Inbound: number is the caller, peer the dialled number. Outbound:
 * number is the dialled number, peer the login that placed the call. The epochs are the truth
 * for time; the bracketed local time is kept as text.
 */
export function parseSessionLine(rawLine: string): CallEvent {
  const line = rawLine.replace(/\\\//g, '/').trim();
  const m = SESSION_RE.exec(line);
  if (!m) throw new PlumLineError('not a session line: expected "{inbound|outbound} {number} {channel} [{time}] {peer} {server;channel;epoch} {start} {end} {HH:MM:SS}"', rawLine);
  const [, direction, number, channelText, localTime, peer, sessionId, server, sidChannel, sidEpoch, startText, endText, hh, mm, ss] = m;
  const start = Number(startText);
  const end = Number(endText);
  if (end < start) throw new PlumLineError(`session ends (${end}) before it starts (${start})`, rawLine);
  const inbound = direction === 'inbound';
  const durationText = `${hh}:${mm}:${ss}`;
  return {
    id: `plum:session:${sessionId}`,
    source: PLUM_SOURCE,
    kind: 'session',
    time: iso(start),
    endTime: iso(end),
    direction: inbound ? 'inbound' : 'outbound',
    from: inbound ? number! : peer!,
    to: inbound ? peer! : number!,
    durationSec: end - start,
    attributes: {
      sessionId,
      server,
      channel: Number(channelText),
      sessionEpoch: Number(sidEpoch),
      number,
      peer,
      localTime,
      durationText,
      durationTextSec: Number(hh) * 3600 + Number(mm) * 60 + Number(ss),
      sessionChannelMatches: Number(sidChannel) === Number(channelText),
    },
    raw: rawLine,
  };
}

/**
 * Parses an error line: `error {number} {channel} [{local time}] {dnis} {session_id} {message…}`.
 * Error lines carry no epochs, so the event time is the bracketed wall-clock time read in
 * `timeZone` (docs/apis.md: the printed offset is not reliable). The id hashes the whole line so
 * that two errors of one session stay distinct and a re-read line keeps its id.
 */
export function parseErrorLine(rawLine: string, timeZone = DEFAULT_PLUM_TIME_ZONE): CallEvent {
  const line = rawLine.replace(/\\\//g, '/').trim();
  const m = ERROR_RE.exec(line);
  if (!m) throw new PlumLineError('not an error line: expected "error {number} {channel} [{time}] {dnis} {server;channel;epoch} {message}"', rawLine);
  const [, number, channelText, localTime, dnis, sessionId, server, , sidEpoch, message] = m;
  const ms = parseClfInZone(localTime!, timeZone);
  if (ms === undefined) throw new PlumLineError(`bad time "[${localTime}]": expected dd/Mon/yyyy:HH:MM:SS ±hhmm`, rawLine);
  const hash = createHash('sha256').update(line).digest('hex').slice(0, 16);
  return {
    id: `plum:error:${sessionId}:${hash}`,
    source: PLUM_SOURCE,
    kind: 'error',
    time: new Date(ms).toISOString(),
    from: number!,
    to: dnis!,
    attributes: { sessionId, server, channel: Number(channelText), sessionEpoch: Number(sidEpoch), number, dnis, localTime, message, timeZone },
    raw: rawLine,
  };
}

/** Parses either kind of line by its first word. */
export function parsePlumLine(rawLine: string, timeZone = DEFAULT_PLUM_TIME_ZONE): CallEvent {
  return rawLine.trimStart().startsWith('error ') ? parseErrorLine(rawLine, timeZone) : parseSessionLine(rawLine);
}
