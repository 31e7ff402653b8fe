import { describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { balanceTasks, taskAssigner } from './task-assigner.js';

const plan = (taskCount: number, members: Record<string, number[]>) => Object.fromEntries(balanceTasks(taskCount, Object.entries(members).map(([id, owns]) => ({ id, owns }))));

describe('task assigner', () => {
  it('shares tasks out evenly, each once', () => {
    const p = plan(6, { a: [], b: [], c: [] });
    expect(Object.values(p).map((t) => t.length)).toEqual([2, 2, 2]);
    expect(Object.values(p).flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('moves only what a joining worker takes: the others keep their tasks up to their share', () => {
    expect(plan(6, { a: [0, 1, 2], b: [3, 4, 5], c: [] })).toEqual({ a: [0, 1], b: [3, 4], c: [2, 5] });
  });

  it('gives a leaving worker\'s tasks to those with room and keeps the rest where they are', () => {
    expect(plan(6, { a: [0, 1], c: [2, 5] })).toEqual({ a: [0, 1, 3], c: [2, 4, 5] });
  });

  it('ignores tasks two members claim (the first by share keeps it) and tasks that no longer exist', () => {
    const p = plan(4, { a: [0, 1, 7], b: [1, 2] });
    expect(p).toEqual({ a: [0, 1], b: [2, 3] });
  });

  it('gives partition p of every subscribed topic to the owner of task p, and announces what a member runs', async () => {
    const sizes: Record<string, number> = { t: 4, u: 2 };
    const cluster = { findTopicPartitionMetadata: (topic: string) => Array.from({ length: sizes[topic]! }, (_, partitionId) => ({ partitionId })) } as unknown as kafkajs.Cluster;
    const assigner = (owned: number[]) => taskAssigner(() => owned)({ cluster, groupId: 'g', logger: undefined as never });
    const member = (memberId: string, owned: number[]) => ({ memberId, memberMetadata: assigner(owned).protocol({ topics: ['t', 'u'] }).metadata });
    const result = await assigner([]).assign({ members: [member('a', [1, 3]), member('b', [])], topics: ['t', 'u'] });
    const decoded = Object.fromEntries(result.map((r) => [r.memberId, kafkajs.AssignerProtocol.MemberAssignment.decode(r.memberAssignment)!.assignment]));
    expect(decoded).toEqual({ a: { t: [1, 3], u: [1] }, b: { t: [0, 2], u: [0] } });
  });
});
