import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '@plumline/core';
import { testContext, testEvent, tmpDir } from '@plumline/core/testing';
import { fileSink, type FileSink } from './index.js';

async function make(config: Record<string, unknown>): Promise<FileSink> {
  return (await fileSink.create(fileSink.configSchema.parse(config), testContext({ id: 'files', type: 'file', kind: 'sink' }))) as FileSink;
}

const issues = (config: Record<string, unknown>) => {
  const r = fileSink.configSchema.safeParse(config);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

/** Every file under `dir` but the template directory's owner file, relative to it. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile() && d.name !== '.plumline-owner').map((d) => join(d.parentPath, d.name).slice(dir.length + 1)).sort();
}

describe('file sink: template fields', () => {
  it('refuses at validate time a path field no event can have, and a literal part no file system takes', () => {
    // The issue: "out/{{sorce}}/x.ndjson" validated, and every event went to out/unknown/x.ndjson.
    expect(issues({ path: 'out/{{sorce}}/x.ndjson' })).toEqual([expect.stringMatching(/^path: "sorce" is not a field of an event \(did you mean "source"\?\)/)]);
    expect(issues({ path: `out/${'n'.repeat(256)}/{{kind}}.ndjson` })).toEqual([expect.stringMatching(/^path: .*256 bytes/)]);
    expect(issues({ path: 'out/{{source}}/{{attributes.tenant}}/%Y.ndjson' })).toEqual([]);
    expect(issues({ path: 'out/{{kind}}.ndjson', missing_field: 'a/b' })).toEqual([expect.stringMatching(/^missing_field: /)]);
    expect(issues({ path: 'out/{{kind}}.ndjson', missing_field: '..' })).toEqual([expect.stringMatching(/^missing_field: /)]);
  });

  it('dead-letters an event that lacks a field of its path (absent, null or empty) with the field and the template, and writes the rest: never a made-up directory', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, 'out/{{attributes.tenant}}/{{kind}}.ndjson') });
      const events = [
        testEvent('a', { attributes: { tenant: 'acme' } }),
        testEvent('b', { attributes: {} }),
        testEvent('c', { attributes: { tenant: null } }),
        testEvent('d', { attributes: { tenant: '' } }),
        testEvent('e', { attributes: { tenant: 'acme' } }),
      ];
      const result = await sink.write({ events, positions: [{ source: 'src', seq: 1 }] });
      await sink.close();
      expect(result?.dead?.map((d) => [d.code, (d.record as CallEvent).id])).toEqual([
        ['FILE_TEMPLATE_FIELD_MISSING', 'b'],
        ['FILE_TEMPLATE_FIELD_MISSING', 'c'],
        ['FILE_TEMPLATE_FIELD_MISSING', 'd'],
      ]);
      expect(result?.dead?.[0]?.reason).toBe(`the event lacks attributes.tenant, a field of the path template "${join(dir, 'out/{{attributes.tenant}}/{{kind}}.ndjson')}": give it the field, or set missing_field`);
      expect(await files(dir)).toEqual(['out/acme/session.ndjson']);
      expect((await readFile(join(dir, 'out/acme/session.ndjson'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as CallEvent).id)).toEqual(['a', 'e']);
    } finally {
      await cleanup();
    }
  });

  it('with missing_field, renders a missing field as that value instead', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      const sink = await make({ path: join(dir, '{{attributes.tenant}}.ndjson'), missing_field: 'no-tenant' });
      const result = await sink.write({ events: [testEvent('a', { attributes: { tenant: 'acme' } }), testEvent('b')], positions: [{ source: 'src', seq: 1 }] });
      await sink.close();
      expect(result?.dead ?? []).toEqual([]);
      expect(await files(dir)).toEqual(['acme.ndjson', 'no-tenant.ndjson']);
    } finally {
      await cleanup();
    }
  });
});
