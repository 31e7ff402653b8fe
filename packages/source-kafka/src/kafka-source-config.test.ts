import { describe, expect, it } from 'vitest';
import { kafkaSourceConfigSchema } from './kafka-source-config.js';

const base = { brokers: ['127.0.0.1:9092'], topics: ['calls.raw'], group_id: 'g' };
const problems = (extra: Record<string, unknown>) => {
  const r = kafkaSourceConfigSchema.safeParse({ ...base, ...extra });
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('kafka source config', () => {
  it('takes task_per_partition alone, and refuses it beside fixed partitions or stop_at_end, at the key', () => {
    expect(problems({ task_per_partition: true })).toEqual([]);
    expect(problems({ task_per_partition: true, partitions: [0] })).toEqual(['task_per_partition']);
    expect(problems({ task_per_partition: true, stop_at_end: true })).toEqual(['task_per_partition']);
  });
});
