import { createRequire } from 'node:module';
import type * as FastXmlParser from 'fast-xml-parser';
import { HttpSourceError } from './http-source-errors.js';

/** A path into a decoded body: '' is the body itself. */
export function valueAt(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  let v = doc;
  for (const p of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** Loaded at the first XML body: a JSON pipeline, and `plumline validate`, never load fast-xml-parser. */
let xmlLib: typeof FastXmlParser | undefined;
const parsers = new Map<string, FastXmlParser.XMLParser>();

function xmlParser(recordsPath: string): FastXmlParser.XMLParser {
  let p = parsers.get(recordsPath);
  if (!p) {
    xmlLib ??= createRequire(import.meta.url)('fast-xml-parser') as typeof FastXmlParser;
    // The records' element is always a list, also when the page holds one (XML cannot tell).
    p = new xmlLib.XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true, isArray: (_name, jpath) => String(jpath) === recordsPath });
    parsers.set(recordsPath, p);
  }
  return p;
}

/**
 * Decodes a body. What does not decode (an HTML error page with status 200, a truncated body) is
 * a fault to ride out, never data to drop: a retriable error.
 */
export function decodeBody(body: string, format: 'json' | 'xml', recordsPath: string, where: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(body) as unknown;
    } catch (err) {
      throw new HttpSourceError('HTTP_SOURCE_BAD_BODY', `response to ${where} is not JSON (${body.length} bytes, starting ${JSON.stringify(body.slice(0, 40))}): ${(err as Error).message}`, { retriable: true, path: where, cause: err });
    }
  }
  const valid = (xmlLib ??= createRequire(import.meta.url)('fast-xml-parser') as typeof FastXmlParser).XMLValidator.validate(body);
  if (valid !== true) throw new HttpSourceError('HTTP_SOURCE_BAD_BODY', `response to ${where} is not XML (${body.length} bytes): ${valid.err.msg} at line ${valid.err.line}`, { retriable: true, path: where });
  return xmlParser(recordsPath).parse(body) as unknown;
}

/** The records at `path`: a list (JSON null, and in XML an absent or empty element, are an empty page). */
export function recordsAt(doc: unknown, path: string, format: 'json' | 'xml', where: string): unknown[] {
  const v = valueAt(doc, path);
  if (Array.isArray(v)) return v;
  if (v === null || (format === 'xml' && (v === undefined || v === ''))) return [];
  throw new HttpSourceError('HTTP_SOURCE_BAD_BODY', `response to ${where} has no list of records at "${path}" (${v === undefined ? 'nothing there' : `a ${typeof v}`}): check \`records\`, or the server answered something else`, { retriable: true, path: where });
}

/** A count (total, pages) at `path`: a number or numeric text. */
export function countAt(doc: unknown, path: string, where: string): number {
  const v = valueAt(doc, path);
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 0) throw new HttpSourceError('HTTP_SOURCE_BAD_BODY', `response to ${where} has no count at "${path}" (${JSON.stringify(v)})`, { retriable: true, path: where });
  return n;
}
