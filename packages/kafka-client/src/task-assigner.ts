import kafkajs from './kafkajs-client.js';

const { AssignerProtocol } = kafkajs;

/** The protocol name of the groups that share partition tasks out (`task_per_partition`). */
export const TASK_ASSIGNER_NAME = 'PlumlinePartitionTasks';

/** A member of the task group as the leader sees it: its id and the tasks it runs now. */
export interface TaskMember {
  id: string;
  owns: readonly number[];
}

/**
 * Tasks 0…taskCount−1 shared out evenly (counts differ by at most one), moving as few as
 * possible: a member keeps the tasks it runs up to its share, so a joining worker takes tasks
 * from the others and a leaving one's go to those with room. A moved task costs a drain and a
 * state load, so stickiness is worth more here than in the group's default assigners.
 */
export function balanceTasks(taskCount: number, members: readonly TaskMember[]): Map<string, number[]> {
  const plan = new Map<string, number[]>(members.map((m) => [m.id, []]));
  if (members.length === 0) return plan;
  // Those running the most get the larger shares, so fewer tasks move.
  const order = [...members].sort((a, b) => b.owns.length - a.owns.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const base = Math.floor(taskCount / members.length);
  const share = new Map(order.map((m, i) => [m.id, base + (i < taskCount % members.length ? 1 : 0)]));
  const taken = new Set<number>();
  for (const m of order) {
    const mine = plan.get(m.id)!;
    for (const t of [...m.owns].sort((a, b) => a - b)) {
      if (mine.length < share.get(m.id)! && t < taskCount && !taken.has(t)) {
        mine.push(t);
        taken.add(t);
      }
    }
  }
  let next = 0;
  for (const m of order) {
    const mine = plan.get(m.id)!;
    while (mine.length < share.get(m.id)!) {
      while (taken.has(next)) next++;
      mine.push(next);
      taken.add(next);
    }
    mine.sort((a, b) => a - b);
  }
  return plan;
}

/**
 * A kafkajs partition assigner for the task group: a task is a partition number (partition p of
 * every subscribed topic, as Kafka Streams groups co-partitioned topics into one task), and each
 * member announces in its subscription the tasks it runs now (`owned()`), so the leader can keep
 * them where they are (see balanceTasks).
 */
export function taskAssigner(owned: () => readonly number[]): kafkajs.PartitionAssigner {
  return ({ cluster }) => ({
    name: TASK_ASSIGNER_NAME,
    version: 1,
    async assign({ members, topics }) {
      const counts = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]));
      const taskCount = Math.max(0, ...counts.values());
      const plan = balanceTasks(taskCount, members.map((m) => ({ id: m.memberId, owns: ownedBy(m.memberMetadata) })));
      return members.map((m) => {
        const tasks = plan.get(m.memberId)!;
        const assignment = Object.fromEntries(topics.map((t) => [t, tasks.filter((p) => p < counts.get(t)!)]));
        return { memberId: m.memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }) };
      });
    },
    protocol({ topics }) {
      return { name: TASK_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(owned())) }) };
    },
  });
}

/** The tasks a member says it runs (none when it says nothing readable). */
function ownedBy(metadata: Buffer): number[] {
  try {
    const list = JSON.parse(AssignerProtocol.MemberMetadata.decode(metadata)?.userData?.toString() || '[]') as unknown;
    return Array.isArray(list) ? list.filter((p): p is number => Number.isInteger(p) && p >= 0) : [];
  } catch {
    return [];
  }
}
