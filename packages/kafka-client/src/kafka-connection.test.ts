import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testContext, tmpDir } from '@plumline/core/testing';
import { kafkaClientConfig } from './kafka-connection.js';

const warnings = (logs: string[]) => logs.map((l) => JSON.parse(l) as { level: number; code?: string; msg: string }).filter((l) => l.level === 40);

describe('kafka connection settings', () => {
  it('warns once, at start, when TLS does not verify the brokers (reject_unauthorized: false), and not otherwise', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
      const unverified = testContext({ id: 'k', kind: 'sink' });
      kafkaClientConfig({ brokers: ['b:9093'], client_id: 'c', ssl: { ca: join(dir, 'ca.pem'), reject_unauthorized: false } }, unverified);
      expect(warnings(unverified.logs)).toEqual([expect.objectContaining({ code: 'KAFKA_TLS_UNVERIFIED', msg: expect.stringContaining('certificates are not verified') })]);
      const verified = testContext({ id: 'k', kind: 'sink' });
      kafkaClientConfig({ brokers: ['b:9093'], client_id: 'c', ssl: { ca: join(dir, 'ca.pem'), reject_unauthorized: true } }, verified);
      kafkaClientConfig({ brokers: ['b:9093'], client_id: 'c', ssl: true }, verified);
      expect(warnings(verified.logs)).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('a TLS file gone since validation is a config error naming the key and the file, not a raw ENOENT', () => {
    expect(() => kafkaClientConfig({ brokers: ['b:9093'], client_id: 'c', ssl: { ca: '/nonexistent/ca.pem', reject_unauthorized: true } }, testContext())).toThrow(
      expect.objectContaining({ code: 'CONFIG_FILE_UNREADABLE', message: expect.stringContaining('ssl.ca: cannot read /nonexistent/ca.pem (ENOENT: no such file)') }),
    );
  });
});
