import { describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { staticPartitionAssigner } from './static-partition-assigner.js';

const cluster = { findTopicPartitionMetadata: () => [0, 1, 2, 3].map((partitionId) => ({ partitionId })) } as unknown as kafkajs.Cluster;
const assigner = (partitions: number[]) => staticPartitionAssigner(partitions)({ cluster, groupId: 'g', logger: undefined as never });
const member = (memberId: string, partitions: number[]) => ({ memberId, memberMetadata: assigner(partitions).protocol({ topics: ['t'] }).metadata });

describe('static partition assigner', () => {
  it('gives each member the partitions it asked for, the first member by id wins a partition two ask for, and nobody gets one nobody asked for', async () => {
    const result = await assigner([0]).assign({ members: [member('b', [2, 3]), member('a', [0, 1]), member('c', [1])], topics: ['t'] });
    const decoded = Object.fromEntries(result.map((r) => [r.memberId, kafkajs.AssignerProtocol.MemberAssignment.decode(r.memberAssignment)!.assignment]));
    expect(decoded).toEqual({ a: { t: [0, 1] }, b: { t: [2, 3] }, c: {} });
  });
});
