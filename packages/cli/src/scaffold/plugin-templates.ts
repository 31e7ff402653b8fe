/** The files of a new plugin package, by path, for `plumline new plugin`. */
export type PluginKind = 'source' | 'operator' | 'sink';

export interface TemplateInput {
  /** Package name, kebab-case (e.g. `acme-sink`). */
  name: string;
  /** The YAML `type:` (snake_case of the name). */
  type: string;
  /** PascalCase of the name, for class names. */
  pascal: string;
  /** camelCase of the name, for the plugin constant. */
  camel: string;
  kind: PluginKind;
  /** Version range of @plumline/core to depend on. */
  coreVersion: string;
  /** Where the development install takes @plumline/core from (`file:…` of a packed tarball), when not the registry. */
  coreSource?: string;
}

const packageJson = (t: TemplateInput) =>
  JSON.stringify(
    {
      name: t.name,
      version: '0.1.0',
      description: `A plumline ${t.kind}: ${t.type}.`,
      type: 'module',
      engines: { node: '>=20.19' },
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: ['dist'],
      scripts: { build: 'tsc -p .', test: 'vitest run' },
      peerDependencies: { '@plumline/core': t.coreVersion },
      devDependencies: { '@plumline/core': t.coreSource ?? t.coreVersion, '@types/node': '^20.19.0', typescript: '^5.9.0', vitest: '^4.1.0' },
    },
    null,
    2,
  ) + '\n';

const tsconfig = `{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "declaration": true,
    "skipLibCheck": true,
    "verbatimModuleSyntax": true,
    "types": ["node"],
    "rootDir": "src",
    "outDir": "dist"
  },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts"]
}
`;

const configFile = (t: TemplateInput) => {
  const fields =
    t.kind === 'sink'
      ? `  path: z.string().min(1).describe('NDJSON file the events are appended to (fsynced before each write resolves).'),`
      : t.kind === 'source'
        ? `  count: z.int().min(0).default(DEFAULT_COUNT).describe('Events to produce, then end.'),
  page_size: z.int().min(1).max(10_000).default(DEFAULT_PAGE_SIZE).describe('Events per page; the checkpoint follows each page.'),`
        : `  field: z.string().regex(/^[A-Za-z_]\\w*$/).default(DEFAULT_FIELD).describe('Attribute the operator sets.'),
  value: z.string().default(DEFAULT_VALUE).describe('Value it sets.'),`;
  const defaults =
    t.kind === 'source' ? `export const DEFAULT_COUNT = 1000;\nexport const DEFAULT_PAGE_SIZE = 100;\n` : t.kind === 'operator' ? `export const DEFAULT_FIELD = 'tag';\nexport const DEFAULT_VALUE = '${t.type}';\n` : '';
  return `import { z } from '@plumline/core';

${defaults}
/** Every key documented, unknown keys refused: the engine validates this before \`create\`. */
export const ${t.camel}ConfigSchema = z.strictObject({
${fields}
});

export type ${t.pascal}Config = z.output<typeof ${t.camel}ConfigSchema>;
`;
};

const pluginFile = (t: TemplateInput) => {
  if (t.kind === 'sink')
    return `import { open, type FileHandle } from 'node:fs/promises';
import { defineSink, eventJsonLine, PipelineError, unwritableAsJson, type DeadLetter, type Sink, type SinkBatch, type SinkContext, type SinkWriteResult } from '@plumline/core';
import { ${t.camel}ConfigSchema, type ${t.pascal}Config } from './${t.name}-config.js';

class ${t.pascal}Sink implements Sink {
  private fh: FileHandle | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly c: ${t.pascal}Config,
    private readonly ctx: SinkContext,
  ) {}

  /**
   * Resolves only once the batch is on disk: the engine acknowledges the source after this. An
   * event JSON cannot represent goes to the dead-letter output with its reason; the rest is written.
   */
  async write(batch: SinkBatch): Promise<SinkWriteResult> {
    const lines: string[] = [];
    const dead: DeadLetter[] = [];
    for (const e of batch.events) {
      try {
        lines.push(eventJsonLine(e, true));
      } catch (err) {
        dead.push(unwritableAsJson(e, err, '${t.type.toUpperCase()}_ENCODING_FAILED'));
      }
    }
    if (lines.length === 0) return { dead };
    try {
      this.fh ??= await open(this.c.path, 'a');
      const text = lines.join('\\n') + '\\n';
      await this.fh.write(text);
      await this.fh.sync();
      this.ctx.telemetry.bytesOut(Buffer.byteLength(text));
    } catch (err) {
      throw new PipelineError('${t.type.toUpperCase()}_WRITE_FAILED', \`cannot write \${this.c.path}: \${(err as Error).message}\`, { cause: err, retriable: true });
    }
    return { dead };
  }

  /** Idempotent: the first call closes the file, later ones wait for it. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.fh?.close();
      this.fh = undefined;
    })());
  }
}

/** \`${t.type}\`: appends each batch as NDJSON to a file. */
export const ${t.camel}Sink = defineSink({
  type: '${t.type}',
  description: 'Appends events as NDJSON to a file (fsynced).',
  configSchema: ${t.camel}ConfigSchema,
  create: (config, ctx) => new ${t.pascal}Sink(config, ctx),
});
`;
  if (t.kind === 'source')
    return `import { defineSource, type CallEvent, type SourcePage } from '@plumline/core';
import { ${t.camel}ConfigSchema } from './${t.name}-config.js';

/** \`${t.type}\`: emits \`count\` events in pages; the checkpoint is the index of the next event. */
export const ${t.camel}Source = defineSource({
  type: '${t.type}',
  description: 'Emits numbered events in pages, resuming from its checkpoint.',
  configSchema: ${t.camel}ConfigSchema,
  create(config) {
    return {
      bounded: true,
      // The engine pulls a page only when it has room for it: nothing is read ahead.
      // The checkpoint is the number of the next event (a typed checkpoint: see docs/authoring.md).
      async *read(checkpoint: number | undefined): AsyncGenerator<SourcePage<number>> {
        for (let next = checkpoint ?? 0; next < config.count; ) {
          const events: CallEvent[] = [];
          for (const end = Math.min(config.count, next + config.page_size); next < end; next++) {
            events.push({ id: \`${t.type}:\${next}\`, source: '${t.type}', kind: 'call', time: new Date(Date.UTC(2026, 0, 1) + next * 1000).toISOString(), attributes: { n: next } });
          }
          yield { events, checkpoint: next };
        }
      },
    };
  },
});
`;
  return `import { defineOperator, mapEvents } from '@plumline/core';
import { ${t.camel}ConfigSchema } from './${t.name}-config.js';

/** \`${t.type}\`: sets one attribute on every event (copying the event, never changing it). */
export const ${t.camel}Operator = defineOperator({
  type: '${t.type}',
  description: 'Sets an attribute on every event.',
  configSchema: ${t.camel}ConfigSchema,
  create(config) {
    return {
      apply: mapEvents((e) => {
        // Object.assign, not spread: V8 makes "spread, then add a key" several times slower.
        const attributes: Record<string, unknown> = Object.assign({}, e.attributes);
        attributes[config.field] = config.value;
        return { ...e, attributes };
      }),
    };
  },
});
`;
};

const exportName = (t: TemplateInput) => `${t.camel}${t.kind === 'sink' ? 'Sink' : t.kind === 'source' ? 'Source' : 'Operator'}`;

const indexFile = (t: TemplateInput) => `export { ${exportName(t)} } from './${t.name}.js';
export { ${t.camel}ConfigSchema, type ${t.pascal}Config } from './${t.name}-config.js';
export { ${exportName(t)} as default } from './${t.name}.js';
`;

const testFile = (t: TemplateInput) => {
  const p = exportName(t);
  if (t.kind === 'sink')
    return `import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sinkContract } from '@plumline/core/testing';
import { ${p} } from './${t.name}.js';

const dir = mkdtempSync(join(tmpdir(), '${t.name}-'));
let n = 0;

// The engine's contracts: strict documented schema, durable before acknowledged, idempotent close, error codes.
sinkContract({
  plugin: ${p},
  config: () => ({ path: join(dir, \`out-\${++n}.ndjson\`) }),
  readBack: async (config) => {
    const path = String(config.path);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id) : [];
  },
  failingConfig: () => ({ path: join('/dev/null', 'not-a-directory', 'out.ndjson') }),
});
`;
  if (t.kind === 'source')
    return `import { expect, it } from 'vitest';
import { runSource, sourceContract } from '@plumline/core/testing';
import { ${p} } from './${t.name}.js';

// The engine's contracts: strict documented schema, exact resume from a checkpoint, stops when asked.
sourceContract({ plugin: ${p}, config: () => ({ count: 250, page_size: 50 }) });

it('runs in a pipeline and delivers every event once', async () => {
  const run = await runSource(${p}, { count: 120, page_size: 50 });
  expect(run.error).toBeUndefined();
  expect(run.events.map((e) => e.id)).toEqual(Array.from({ length: 120 }, (_, i) => \`${t.type}:\${i}\`));
});
`;
  return `import { expect, it } from 'vitest';
import { operatorContract, runOperator, testEvent } from '@plumline/core/testing';
import { ${p} } from './${t.name}.js';

// The engine's contracts: receipts passed on once, inputs untouched, RxJS edge cases, idempotent close.
operatorContract({ plugin: ${p}, config: () => ({ field: 'team', value: 'support' }) });

it('sets the attribute', async () => {
  const run = await runOperator(${p}, { field: 'team', value: 'support' }, [[testEvent('a')]]);
  expect(run.events[0]!.attributes.team).toBe('support');
});
`;
};

const readme = (t: TemplateInput) => `# ${t.name}

A plumline ${t.kind} (\`type: ${t.type}\`), made with \`plumline new plugin\`.

\`\`\`sh
npm install && npm run build && npm test
\`\`\`

Use it from a pipeline file:

\`\`\`yaml
${t.kind === 'source' ? 'sources' : t.kind === 'sink' ? 'sinks' : 'transforms'}:
  mine:
    use: ${t.name}          # or a path: ./${t.name}/dist/index.js
    type: ${t.type}${t.kind === 'source' ? '' : '\n    inputs: [upstream]'}${t.kind === 'sink' ? '\n    path: out.ndjson' : ''}
\`\`\`

The tests run plumline's conformance suite (\`@plumline/core/testing\`), which checks the contracts
the engine relies on. See plumline's docs/authoring.md.
`;

export function pluginFiles(t: TemplateInput): Record<string, string> {
  return {
    'package.json': packageJson(t),
    'tsconfig.json': tsconfig,
    'README.md': readme(t),
    'src/index.ts': indexFile(t),
    [`src/${t.name}-config.ts`]: configFile(t),
    [`src/${t.name}.ts`]: pluginFile(t),
    [`src/${t.name}.test.ts`]: testFile(t),
  };
}
