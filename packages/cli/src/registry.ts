import { corePlugins, PluginRegistry } from '@plumline/core';
import { exportedPlugins } from '@plumline/core/host';
import * as kafkaClient from '@plumline/kafka-client';
import * as operators from '@plumline/operators';
import * as sinkFile from '@plumline/sink-file';
import * as sinkKafka from '@plumline/sink-kafka';
import * as sourceHttp from '@plumline/source-http';
import * as sourceIplum from '@plumline/source-iplum';
import * as sourceKafka from '@plumline/source-kafka';
import * as sourcePlum from '@plumline/source-plum';

/**
 * Every plugin the CLI knows, at once: core's built-ins and every plugin each package it ships
 * exports (the `plumline` command itself imports a package only when a pipeline names one of its
 * types: plugins-for-pipeline.ts). package-manifests.test.ts checks these packages and their
 * plugins against the packages' manifests.
 */
export function builtinRegistry(): PluginRegistry {
  return new PluginRegistry([...corePlugins, ...[sinkFile, sinkKafka, sourcePlum, sourceIplum, sourceHttp, sourceKafka, kafkaClient, operators].flatMap(exportedPlugins)]);
}
