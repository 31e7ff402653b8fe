import { describe, expect, it } from 'vitest';
import { murmur2, tenantPartition } from './tenant-partition.js';

// Values printed by Apache kafka-clients 4.3.1 (Utils.murmur2 and toPositive(murmur2) % 12), so a
// tenant's share is the partition Kafka's own default partitioner gives a record keyed by its name.
const JAVA: [string, number, number][] = [
  ['21', -973932308, 0],
  ['foobar', -790332482, 6],
  ['a-little-bit-long-string', -985981536, 8],
  ['abc', 479470107, 3],
  ['acct-0001', 877748855, 11],
  ['Ünïcode-tenant', -861987560, 0],
  ['x', 2121525046, 10],
];

describe('tenantPartition', () => {
  it.each(JAVA)('hashes %s as Kafka does', (tenant, hash, partition) => {
    expect(murmur2(new TextEncoder().encode(tenant))).toBe(hash);
    expect(tenantPartition(tenant, 12)).toBe(partition);
  });

  it('spreads 1,000 tenants over 12 shares, none empty nor holding over twice its part', () => {
    const counts = new Array<number>(12).fill(0);
    for (let i = 0; i < 1000; i++) counts[tenantPartition(`acct-${String(i).padStart(4, '0')}`, 12)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThan((2 * 1000) / 12);
  });
});
