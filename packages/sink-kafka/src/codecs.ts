import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';

const { CompressionCodecs, CompressionTypes } = kafkajs;

let registered = false;

/**
 * Registers the snappy codec (pure-JS snappyjs) with kafkajs, process-wide. LZ4 through the
 * pure-JS lz4js did not round-trip through a real broker (the produce request never completed),
 * and the kafkajs lz4/zstd codecs are native modules: neither is offered yet.
 */
export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
}
