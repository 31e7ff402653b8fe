import type { AnyPlugin } from './plugin.js';
import { dedupeOperator } from './operators/dedupe/dedupe-operator.js';
import { filterOperator } from './operators/filter/filter-operator.js';
import { mapOperator } from './operators/map/map-operator.js';
import { routeOperator } from './operators/route/route-operator.js';
import { blackholeSink } from './sinks/blackhole/blackhole-sink.js';
import { stdoutSink } from './sinks/stdout/stdout-sink.js';
import { generateSource } from './sources/generate/generate-source.js';
import { stdinSource } from './sources/stdin/stdin-source.js';
import { directoryStatePlugin } from './state/directory-state-plugin.js';

/** Every plugin core ships: `stdin`, `generate`, `map`, `filter`, `dedupe`, `route`, `stdout`, `blackhole`, and the `directory` state store. */
export const corePlugins: readonly AnyPlugin[] = [
  stdinSource,
  generateSource,
  mapOperator,
  filterOperator,
  dedupeOperator,
  routeOperator,
  stdoutSink,
  blackholeSink,
  directoryStatePlugin,
] as AnyPlugin[];

export { dedupeOperator, filterOperator, mapOperator, routeOperator, blackholeSink, stdoutSink, generateSource, stdinSource, directoryStatePlugin };
export { UNMATCHED_OUTPUT } from './operators/route/route-operator.js';
