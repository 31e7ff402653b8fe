export { fileSink, FileSink } from './file-sink.js';
export { fileSinkConfigSchema, type FileSinkConfig } from './file-sink-config.js';
