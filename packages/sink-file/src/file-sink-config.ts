import { byteSize, duration, z } from '@plumline/core';
import { TEMPLATE_ISSUE } from '@plumline/core/util';
import { missingFieldProblem, pathTemplateProblems } from './path-template.js';

export const DEFAULT_MAX_OPEN_FILES = 64;
export const DEFAULT_INDEX_COMPACT_RECORDS = 5_000;
export const DEFAULT_IDLE_TIMEOUT = '30s';

/** The config schema of the `file` sink. */
export const fileSinkConfigSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .superRefine((t, ctx) => {
      for (const m of pathTemplateProblems(t)) ctx.addIssue({ code: 'custom', message: m, params: TEMPLATE_ISSUE });
    })
    .describe('File path template, relative to the working directory: `{{field}}` from the event, `%Y %m %d %H %M %S %j` from its time (UTC). E.g. `out/{{source}}/{{kind}}/%Y-%m-%d.ndjson`. A fixed path is claimed by one sink of one pipeline, a template\'s directory (its text up to the last `/` before the first `{{` or `%`, here `out/`) by one pipeline: another pipeline on it, above or below it is refused at start (FILE_PATH_IN_USE).'),
  missing_field: z
    .string()
    .min(1)
    .optional()
    .superRefine((v, ctx) => {
      const problem = v === undefined ? undefined : missingFieldProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe('Value a `{{field}}` of `path` renders as when an event lacks it (absent, null or empty). Absent: such an event goes to the dead-letter output (FILE_TEMPLATE_FIELD_MISSING), never to a made-up path.'),
  gzip: z.boolean().default(false).describe('Compress: `.gz` is appended to the name (unless the path ends in it); each write is one gzip member, so `zcat` reads the whole file.'),
  rotate: z
    .strictObject({
      max_bytes: byteSize('Start a new part (`name.1.ndjson`, `name.2.ndjson`, …) before a file would grow past this size.').optional(),
      interval: duration('Start a new part when the current one has been open this long (wall clock).').optional(),
    })
    .optional()
    .describe('Rotation of the files a path renders to. Without it a file grows as long as its path renders the same.'),
  max_open_files: z.int().min(1).max(10_000).default(DEFAULT_MAX_OPEN_FILES).describe('Open file handles kept at most; the least recently written are closed first.'),
  idle_timeout: duration(
    'Close a file not written for this long. Once its writes are committed the sink forgets it, so memory and the commit index hold only recent files however many paths a template renders; when the path renders again, writing resumes at the end of its last part.',
    DEFAULT_IDLE_TIMEOUT,
  ),
  include_raw: z.boolean().default(true).describe('Write the `raw` field of events.'),
});

/** The `file` sink's config, validated. */
export type FileSinkConfig = z.output<typeof fileSinkConfigSchema>;
