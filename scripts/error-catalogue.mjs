// The error catalogue (docs/errors.md), read from the sources with the TypeScript compiler:
// every code a plumline error, a dead letter or a log line can carry, where it is raised, whether
// it is retried, and the message it is raised with. `pnpm run docs` writes it; a test fails when
// the checked-in file is not what the sources give today.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;
const PACKAGES = ['core', 'sink-file', 'kafka-client', 'sink-kafka', 'source-kafka', 'source-plum', 'source-iplum', 'source-http', 'operators', 'cli'];
/** What each error class does when its call site says nothing about retrying. */
const CLASS_RETRIABLE = { ConfigError: false, ConfigErrors: false, PluginError: false, StateError: true, PipelineError: false, PlumLineError: false };

function sourceFiles(dir) {
  const out = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      if (!['test-support', 'testing', 'scaffold', 'emulator'].includes(d.name)) out.push(...sourceFiles(p));
    } else if (d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') && !d.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** A message as the reader sees it: a template's `${…}` parts become `…`. */
function messageText(node) {
  if (!node) return '';
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => '…' + s.literal.text).join('');
  return '…';
}

function retriableIn(options) {
  if (!options || !ts.isObjectLiteralExpression(options)) return undefined;
  for (const p of options.properties) {
    if (p.name?.getText() !== 'retriable') continue;
    if (!ts.isPropertyAssignment(p)) return 'varies';
    if (p.initializer.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (p.initializer.kind === ts.SyntaxKind.FalseKeyword) return false;
    return 'varies';
  }
  return undefined;
}

/** The codes an argument can be: a literal, or either branch of `cond ? 'A' : 'B'`. */
function codesOf(node) {
  if (node && ts.isConditionalExpression(node)) return [...codesOf(node.whenTrue), ...codesOf(node.whenFalse)];
  const code = codeLiteral(node);
  return code ? [code] : [];
}

function codeLiteral(node) {
  // `err.code ?? 'FALLBACK'`: the fallback is a code of its own.
  if (node && ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) return codeLiteral(node.right);
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && CODE.test(node.text) ? node.text : undefined;
}

/** Dead letters made by a helper given the code (`unwritableAsJson(e, err, 'FILE_ENCODING_FAILED')`). */
const DEAD_LETTER_HELPERS = { unwritableAsJson: 'event cannot be written as JSON: …' };

/** `- \`CODE\` — text` bullets in doc comments (error classes list the codes they take). */
function documentedBullets(text) {
  const out = new Map();
  for (const m of text.matchAll(/^\s*\*\s*-\s*`([A-Z][A-Z0-9_]+)`(?:\s*\/\s*`([A-Z][A-Z0-9_]+)`)?\s*—\s*(.+)$/gm)) {
    out.set(m[1], m[3].trim());
    if (m[2]) out.set(m[2], m[3].trim());
  }
  return out;
}

function collect(root) {
  const entries = new Map();
  const add = (code, kind, pkg, file, retriable, message) => {
    const e = entries.get(code) ?? { code, kinds: new Set(), packages: new Set(), files: new Set(), retriable: new Set(), messages: [] };
    e.kinds.add(kind);
    e.packages.add(pkg);
    e.files.add(file);
    if (retriable !== undefined) e.retriable.add(retriable);
    // A message that is all placeholder (a variable) says nothing.
    if (message && message !== '…' && !e.messages.includes(message)) e.messages.push(message);
    entries.set(code, e);
  };
  for (const pkg of PACKAGES) {
    for (const path of sourceFiles(join(root, 'packages', pkg, 'src'))) {
      const text = readFileSync(path, 'utf8');
      const file = relative(root, path);
      const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
      const bullets = documentedBullets(text);
      const visit = (node) => {
        if (ts.isNewExpression(node) && /Error$/.test(node.expression.getText())) {
          const cls = node.expression.getText();
          for (const code of codesOf(node.arguments?.[0])) add(code, cls === 'ConfigError' ? 'config' : 'error', pkg, file, retriableIn(node.arguments[2]) ?? CLASS_RETRIABLE[cls], messageText(node.arguments[1]));
        } else if (ts.isCallExpression(node) && DEAD_LETTER_HELPERS[node.expression.getText()]) {
          const code = node.arguments.map(codeLiteral).find(Boolean);
          if (code) add(code, 'dead letter', pkg, file, false, DEAD_LETTER_HELPERS[node.expression.getText()]);
        } else if (ts.isVariableDeclaration(node) && node.name.getText() === 'code' && node.initializer && ts.isConditionalExpression(node.initializer)) {
          // `const code = err instanceof PlumlineError ? err.code : 'FALLBACK'`
          const code = codeLiteral(node.initializer.whenFalse);
          if (code) add(code, 'dead letter', pkg, file, false, 'the error an operator threw, when it is not a PlumlineError');
        } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword) {
          const code = codeLiteral(node.arguments[0]);
          if (code) add(code, 'error', pkg, file, retriableIn(node.arguments[2]), bullets.get(code));
        } else if (ts.isObjectLiteralExpression(node)) {
          const props = new Map(node.properties.filter(ts.isPropertyAssignment).map((p) => [p.name.getText(), p.initializer]));
          const code = codeLiteral(props.get('code'));
          if (code) {
            const dead = props.has('reason') && props.has('record');
            // `{ code, message, path }`: a config problem a plugin reports for validate to locate.
            const problem = !dead && props.has('message') && code.startsWith('CONFIG_');
            add(code, dead ? 'dead letter' : problem ? 'config' : 'log', pkg, file, dead ? false : undefined, dead ? messageText(props.get('reason')) : problem ? messageText(props.get('message')) : undefined);
          }
        } else if (ts.isParameter(node) && node.name.getText() === 'code' && node.type && ts.isUnionTypeNode(node.type)) {
          for (const t of node.type.types) {
            if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) && CODE.test(t.literal.text)) add(t.literal.text, 'error', pkg, file, undefined, bullets.get(t.literal.text));
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
      // Codes only a doc bullet names (raised through a variable) still belong in the catalogue.
      for (const [code, text] of bullets) {
        const e = entries.get(code);
        if (e && !e.messages.includes(text)) e.messages.push(text);
      }
    }
  }
  return [...entries.values()].sort((a, b) => (a.code < b.code ? -1 : 1));
}

const cell = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function retriedText(e) {
  if (e.kinds.has('config')) return 'no: fix the file';
  if (e.kinds.has('dead letter') && e.kinds.size === 1) return 'no: the record goes to the dead letters';
  if (e.kinds.has('log') && e.kinds.size === 1) return '—';
  if (e.retriable.has('varies') || e.retriable.size > 1) return 'depends on the case';
  if (e.retriable.has(true)) return 'yes';
  if (e.retriable.has(false)) return 'no';
  return 'see the message';
}

/** docs/errors.md as the sources give it today. */
export function renderErrors(root) {
  const entries = collect(root);
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from the sources by `pnpm run docs` (scripts/error-catalogue.mjs); do not edit by hand. -->',
    '',
    'Every error plumline raises is a `PlumlineError` with a stable `code` (match on it, never on the',
    'message), structured `fields`, an optional `cause`, and `retriable`. The same codes name dead',
    "letters (`attributes.code` of a `kind: dead_letter` event) and appear as `code` in log lines.",
    '',
    '- **config**: a pipeline file or option that cannot be used; `validate` and `run` exit 2 with its',
    '  location. Never retried.',
    '- **error, retried: yes** — transient (a network, an API outage, a broker or disk that recovers):',
    '  sources try again with backoff up to a minute apart, sinks without end by default',
    '  (`runtime.sink_max_retries`).',
    '- **error, retried: no** — permanent: the component fails, or the records it concerns are',
    '  dead-lettered and the pipeline goes on, as the message says.',
    '- **dead letter** — a record that cannot be processed; it goes to the dead-letter output with this',
    '  code and the reason, and the rest is delivered.',
    '- **log** — a code carried by a warning or an error log line.',
    '',
    'An error plumline does not know (not a `PlumlineError`: a bug) is tried again at most a few times',
    '(sources 3, sinks 5) and then fails the pipeline with the error.',
    '',
    `${entries.length} codes.`,
    '',
    '| code | kind | retried | raised in | message |',
    '|---|---|---|---|---|',
  ];
  for (const e of entries) {
    const files = [...e.files].map((f) => `\`${f.replace(/^packages\//, '')}\``).join(', ');
    lines.push(`| \`${e.code}\` | ${[...e.kinds].sort().join(', ')} | ${retriedText(e)} | ${files} | ${cell(e.messages.slice(0, 2).join(' / ') || '—')} |`);
  }
  return lines.join('\n') + '\n';
}
