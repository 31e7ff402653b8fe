import { describe, expect, it } from 'vitest';
import { movedOutput } from './output-location.js';

describe('movedOutput (an index written for a folder copied or moved with its state)', () => {
  const cwd = '/w/staging';
  it('finds a fixed path and its parts left in the original folder', () => {
    expect(movedOutput('out/s.ndjson', '/w/staging/out/s.ndjson', ['/w/prod/out/s.ndjson'], cwd)).toEqual({ oldDir: '/w/prod/out', newDir: '/w/staging/out', file: '/w/prod/out/s.ndjson' });
    expect(movedOutput('out/s.ndjson', '/w/staging/out/s.ndjson', ['/w/prod/out/s.2.ndjson'], cwd)?.oldDir).toBe('/w/prod/out');
  });
  it('finds a template\'s files left in the original folder', () => {
    expect(movedOutput('out/{{source}}/s.ndjson', undefined, ['/w/prod/out/gen/s.ndjson'], cwd)?.oldDir).toBe('/w/prod/out');
  });
  it('takes no changed path for a move, nor files where the config points', () => {
    expect(movedOutput('out/s.ndjson', '/w/staging/out/s.ndjson', ['/w/staging/out/s.ndjson', '/w/staging/out/s.1.ndjson'], cwd)).toBeUndefined();
    expect(movedOutput('out/t.ndjson', '/w/staging/out/t.ndjson', ['/w/staging/out/s.ndjson'], cwd)).toBeUndefined();
    expect(movedOutput('out2/s.ndjson', '/w/staging/out2/s.ndjson', ['/w/staging/out/s.ndjson'], cwd)).toBeUndefined();
    expect(movedOutput('new/{{source}}.ndjson', undefined, ['/w/staging/old/gen.ndjson'], cwd)).toBeUndefined();
    expect(movedOutput('/abs/s.ndjson', '/abs/s.ndjson', ['/w/prod/out/s.ndjson'], cwd)).toBeUndefined();
  });
});
