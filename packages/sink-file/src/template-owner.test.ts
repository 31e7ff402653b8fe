import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { templateDir } from './template-owner.js';

describe('templateDir: the directory a path template claims', () => {
  it('is the fixed text up to the last / before the first {{ or %', () => {
    expect(templateDir('out/{{source}}/%Y-%m-%d.ndjson')).toBe(resolve('out'));
    expect(templateDir('out/calls-{{kind}}.ndjson')).toBe(resolve('out'));
    expect(templateDir('out/a/%Y/x.ndjson')).toBe(resolve('out/a'));
    expect(templateDir('/data/plumline/{{source}}.ndjson')).toBe('/data/plumline');
  });

  it('is the working directory for a template with no directory before its first field', () => {
    expect(templateDir('{{source}}.ndjson')).toBe(resolve('.'));
  });

  it('climbs one level for each .. after the first field: every rendered file stays under it', () => {
    expect(templateDir('out/a/{{source}}/../../x.ndjson')).toBe(resolve('.'));
    expect(templateDir('out/a/{{source}}/../x.ndjson')).toBe(resolve('out'));
  });
});
