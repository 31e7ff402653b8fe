import { DEAD_LETTER_STREAM } from '../config/pipeline-schema.js';
import type { DeadLetterReport } from './dead-letter-ledger.js';
import type { ResolvedPipeline } from './resolve-pipeline.js';

/** Where a pipeline's dead letters go: the sinks that take the stream, else the dead-letter file. */
export function deadLetterDestination(definition: ResolvedPipeline): string {
  const sinks = definition.sinks.filter((s) => s.inputs.includes(DEAD_LETTER_STREAM)).map((s) => s.id);
  return sinks.length ? `sink${sinks.length > 1 ? 's' : ''} ${sinks.join(', ')}` : `the dead-letter file ${definition.deadLetterPath}`;
}

/**
 * What a host says when a run ended with more dead letters than its pipeline expects: how many,
 * of which codes, where they went, and how to say they are expected.
 */
export function deadLetterSummary(report: DeadLetterReport, definition: ResolvedPipeline): string {
  const codes = Object.entries(report.byCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ');
  const ratio = definition.deadLetterMaxRatio;
  const limit = ratio > 0 && Number.isFinite(ratio) ? `, more than max_ratio ${ratio} allows` : '';
  return `${report.count} of the ${report.read} records read were dead-lettered (${codes})${limit}; they are in ${deadLetterDestination(definition)}. Fix what refused them, or if this pipeline expects them, say so: dead_letter: { expected: true } (any number) or { max_ratio: 0.01 } (a share of the records read)`;
}
