import { corePlugins, PluginRegistry } from '@plumline/core';
import { fileSink } from '@plumline/sink-file';
import { plumParseOperator, plumSource } from '@plumline/source-plum';
import { iplumCallbacksSource, iplumSource } from '@plumline/source-iplum';
import { kafkaSink, kafkaSource, kafkaStatePlugin } from '@plumline/kafka';
import { callOperators } from '@plumline/operators';

/** Every plugin the CLI knows: core's built-ins and each package's. */
export function builtinRegistry(): PluginRegistry {
  return new PluginRegistry([...corePlugins, fileSink, plumSource, plumParseOperator, iplumSource, iplumCallbacksSource, kafkaSource, kafkaSink, kafkaStatePlugin, ...callOperators]);
}
