import type { BatchPosition } from '../../receipt.js';

const MAGIC = 0x31444c50; // "PLD1"

/** A group of dedupe keys that became durable together: they count only once `positions` are committed. */
export interface KeyBlock {
  positions: readonly BatchPosition[];
  /** Triples: hi, lo, expiry seconds. */
  keys: Uint32Array;
}

/** Encodes blocks for appending to the state store's log. */
export function encodeKeyBlocks(blocks: readonly KeyBlock[]): Buffer {
  const parts: Buffer[] = [];
  for (const b of blocks) {
    const header = Buffer.from(JSON.stringify(b.positions.map((p) => [p.source, p.seq])), 'utf8');
    const head = Buffer.alloc(12);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(header.length, 4);
    head.writeUInt32LE(b.keys.length / 3, 8);
    const body = Buffer.from(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
    parts.push(head, header, Buffer.from(body));
  }
  return Buffer.concat(parts);
}

/**
 * Decodes the payload of one checked-log block (see CheckedLog): exactly one whole key block, or
 * undefined when it is not one.
 */
export function decodeKeyBlock(data: Uint8Array): KeyBlock | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC) return undefined;
  if (12 + buf.readUInt32LE(4) + buf.readUInt32LE(8) * 12 !== buf.length) return undefined;
  const blocks = decodeKeyBlocks(buf);
  return blocks.length === 1 ? blocks[0] : undefined;
}

/**
 * Decodes a log in the format before logs were checked (and the payload of one block). A block cut short by a crash during append (the torn tail) is ignored;
 * so is anything after it.
 */
export function decodeKeyBlocks(data: Uint8Array): KeyBlock[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: KeyBlock[] = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    if (buf.readUInt32LE(off) !== MAGIC) break;
    const headerLen = buf.readUInt32LE(off + 4);
    const n = buf.readUInt32LE(off + 8);
    const end = off + 12 + headerLen + n * 12;
    if (end > buf.length) break;
    let positions: BatchPosition[];
    try {
      positions = (JSON.parse(buf.toString('utf8', off + 12, off + 12 + headerLen)) as [string, number][]).map(([source, seq]) => ({ source, seq }));
    } catch {
      break;
    }
    const keys = new Uint32Array(n * 3);
    const start = off + 12 + headerLen;
    for (let i = 0; i < n * 3; i++) keys[i] = buf.readUInt32LE(start + i * 4);
    out.push({ positions, keys });
    off = end;
  }
  return out;
}
