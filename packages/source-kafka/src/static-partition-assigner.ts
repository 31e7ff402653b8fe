import { kafkajs } from '@plumline/kafka-client/support';

const { AssignerProtocol } = kafkajs;

/** The protocol name: every member of a group must speak it (a group mixes no assigners). */
export const STATIC_ASSIGNER_NAME = 'PlumlineStaticPartitions';

/**
 * A kafkajs partition assigner for workers that each own fixed partitions (`partitions:` on the
 * kafka source), as Kafka Connect tasks or a StatefulSet's pods do: each member announces the
 * partitions it wants in its subscription's user data, and the group leader gives every
 * partition to the first member (by member id) that wants it. A second worker for the same
 * partitions gets none and waits as a standby until the first leaves the group. The group still
 * keeps the offsets and notices a worker's death; it never moves a partition to a worker that
 * did not ask for it, so per-partition state and transactions stay with their worker's pipeline.
 */
export function staticPartitionAssigner(partitions: readonly number[]): kafkajs.PartitionAssigner {
  return ({ cluster }) => ({
    name: STATIC_ASSIGNER_NAME,
    version: 1,
    async assign({ members, topics }) {
      const wants = new Map(members.map((m) => [m.memberId, wantedBy(m.memberMetadata)]));
      const assignment = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
      const sorted = [...wants.keys()].sort();
      for (const topic of topics) {
        for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
          const owner = sorted.find((id) => wants.get(id)!.includes(partitionId));
          if (owner) (assignment.get(owner)![topic] ??= []).push(partitionId);
        }
      }
      return [...assignment].map(([memberId, a]) => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: a, userData: Buffer.alloc(0) }) }));
    },
    protocol({ topics }) {
      return { name: STATIC_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(partitions)) }) };
    },
  });
}

/** The partitions a member's subscription asks for (none when it carries no list). */
function wantedBy(metadata: Buffer): number[] {
  const decoded = AssignerProtocol.MemberMetadata.decode(metadata);
  try {
    const list = JSON.parse(decoded?.userData?.toString() ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((p): p is number => Number.isInteger(p)) : [];
  } catch {
    return [];
  }
}
