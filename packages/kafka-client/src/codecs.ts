import type kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';

/** The shape kafkajs expects of a codec factory. */
type Codec = () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };

/** zstd level for produced batches: 3 is zstd's (and Kafka's) default trade of speed for size. */
export const ZSTD_LEVEL = 3;
/** Output buffer to start from when a zstd frame does not state its size (Kafka's Java zstd streams do not). */
const ZSTD_FIRST_GUESS_BYTES = 1 << 20;
/** Frames that claim to decompress beyond this are refused rather than exhausting memory. */
const ZSTD_MAX_BYTES = 1 << 30;

/**
 * LZ4 as Kafka writes it: the standard LZ4 frame format (KIP-57), without block checksums. The
 * pure-JS lz4js wrote frames the broker never answered for; lz4-napi (lz4_flex, prebuilt binaries
 * shipped as npm packages) writes frames the broker and the Java client read.
 */
// The lz4 and zstd libraries load on first use: a pipeline that does not compress with them does
// not pay their memory (≈ 20 MB together).
let lz4: Promise<typeof import('lz4-napi')> | undefined;
const Lz4Codec: Codec = () => ({
  compress: async (encoder) => (await (lz4 ??= import('lz4-napi'))).compressFrame(encoder.buffer, { blockChecksums: false, contentChecksum: false }),
  decompress: async (buffer) => (await (lz4 ??= import('lz4-napi'))).decompressFrame(buffer),
});

let zstdReady: Promise<typeof import('@bokuweb/zstd-wasm')> | undefined;
const loadZstd = () =>
  (zstdReady ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    await m.init();
    return m;
  }));
/** zstd compiled to WebAssembly: no native build, the same bytes as libzstd. */
const ZstdCodec: Codec = () => ({
  async compress(encoder) {
    const zstd = await loadZstd();
    return Buffer.from(zstd.compress(encoder.buffer, ZSTD_LEVEL));
  },
  async decompress(buffer) {
    const zstd = await loadZstd();
    // A frame without a content size is decompressed into a growing buffer until it fits.
    for (let size = ZSTD_FIRST_GUESS_BYTES; ; size *= 4) {
      try {
        return Buffer.from(zstd.decompress(buffer, { defaultHeapSize: size }));
      } catch (err) {
        if (size >= ZSTD_MAX_BYTES) throw err;
      }
    }
  },
});

let registered = false;

/**
 * Registers the snappy, lz4 and zstd codecs with kafkajs, process-wide (kafkajs ships only gzip).
 * kafkajs-client.ts does it as it loads kafkajs (it passes the module in, as this module may not
 * load kafkajs before the read_committed filter is installed), so that whatever reads or writes
 * through this package (the source, the sink, the state store) has them, whichever was loaded.
 */
export function registerCodecs({ CompressionCodecs, CompressionTypes }: Pick<typeof kafkajs, 'CompressionCodecs' | 'CompressionTypes'>): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = Lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = ZstdCodec;
}
