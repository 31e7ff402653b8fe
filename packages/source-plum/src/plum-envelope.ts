import { createRequire } from 'node:module';
import type * as FastXmlParser from 'fast-xml-parser';
import { PlumApiError } from './plum-errors.js';

/** The response format asked of Plum's API. */
export type PlumFormat = 'json' | 'xml';

/** One row of `calls/logs`. All values are strings, as the API sends them. */
export interface PlumLogRow {
  log_id: string;
  session_id: string;
  dest: string;
  type: string;
  src: string;
  start: string;
  end: string;
}

/**
 * The result of `calls/log/{id}`: every key as the API sent it (kept whole in the event's raw),
 * with `log` (unescaped) and `location` read as strings. The others are documented as strings
 * but not checked: the event takes only `timestamp`, as a number.
 */
export interface PlumLogDetail {
  readonly [key: string]: unknown;
  readonly dest?: unknown;
  readonly src?: unknown;
  readonly type?: unknown;
  readonly timestamp?: unknown;
  readonly location: string;
  readonly log: string;
}

export interface Envelope {
  status: string;
  error: string;
  result: Record<string, unknown> | undefined;
}

const LIST_PATHS = new Set(['logs.result.logs.log', 'sessions.result.sessions.session', 'errors.result.errors.error']);

/**
 * The XML parser, loaded at the first XML response: a pipeline on JSON (the default), and every
 * `plumline validate`, skips loading fast-xml-parser (≈ 35 ms of start-up).
 */
let xml: { parser: FastXmlParser.XMLParser; validator: typeof FastXmlParser.XMLValidator } | undefined;
function xmlLib(): NonNullable<typeof xml> {
  if (xml) return xml;
  const { XMLParser, XMLValidator } = createRequire(import.meta.url)('fast-xml-parser') as typeof FastXmlParser;
  const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
    isArray: (_name, jpath) => LIST_PATHS.has(String(jpath)),
  });
  return (xml = { parser, validator: XMLValidator });
}

/**
 * Decodes a response body into the envelope. JSON: the vendor's own failure sample has a
 * trailing comma (`{"status":"failure","error":"…",}`), which is tolerated so its error text
 * still surfaces. XML: the root element is named after the service; `<error/>` is empty.
 */
export function decodeEnvelope(body: string, format: PlumFormat, path: string): Envelope {
  let doc: unknown;
  if (format === 'json') {
    try {
      doc = JSON.parse(body);
    } catch {
      try {
        doc = JSON.parse(body.replace(/,\s*([}\]])/g, '$1'));
      } catch (err) {
        throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} is not valid JSON (${body.length} bytes): ${(err as Error).message}`, { retriable: true, path, cause: err });
      }
    }
  } else {
    const { parser, validator } = xmlLib();
    const valid = validator.validate(body);
    if (valid !== true) {
      throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} is not valid XML (${body.length} bytes): ${valid.err.msg} at line ${valid.err.line}`, { retriable: true, path });
    }
    const parsed = parser.parse(body) as Record<string, unknown>;
    const root = Object.keys(parsed).find((k) => !k.startsWith('?'));
    doc = root ? parsed[root] : undefined;
  }
  if (!doc || typeof doc !== 'object') throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} has no envelope`, { retriable: true, path });
  const o = doc as Record<string, unknown>;
  if (typeof o.status !== 'string') throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} has no "status" in its envelope`, { retriable: true, path });
  const result = o.result && typeof o.result === 'object' ? (o.result as Record<string, unknown>) : undefined;
  return { status: o.status, error: typeof o.error === 'string' ? o.error : '', result };
}

/** A list inside `result`: JSON gives an array; XML gives `{ log: [...] }`, or '' / nothing when empty. */
export function listOf(result: Record<string, unknown> | undefined, key: string, item: string): unknown[] {
  const v = result?.[key];
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') {
    const inner = (v as Record<string, unknown>)[item];
    if (Array.isArray(inner)) return inner;
    if (inner !== undefined && inner !== '') return [inner];
  }
  return [];
}

/** A numeric total (a string in both formats). */
export function totalOf(result: Record<string, unknown> | undefined, key: string, path: string): number {
  const n = Number(result?.[key]);
  if (!Number.isFinite(n) || n < 0) throw new PlumApiError('PLUM_BAD_BODY', `response to ${path} has no valid ${key}`, { retriable: true, path });
  return n;
}

/** XML keeps the JSON escape `\/` literally inside text; JSON.parse already turned it into `/`. */
export function unescapeSlashes(text: string): string {
  return text.includes('\\/') ? text.replace(/\\\//g, '/') : text;
}
