import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { z } from 'zod';
import { ConfigError, ConfigErrors } from '../errors.js';
import type { Logger } from '../logger.js';
import { validateConfig } from '../config/validate.js';
import { YamlDocument } from '../config/yaml-document.js';
import { collectSecrets } from '../schema.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';

/** How often the accounts file is checked when change events do not come (network file systems). */
export const ACCOUNTS_FILE_POLL_MS = 2_000;
/** Changes within this long are read once (an editor writes a file in several steps). */
const SETTLE_MS = 100;

/** Options of {@link AccountsFileWatch}. */
export interface AccountsFileWatchOptions<A> {
  /** The accounts file, absolute. */
  file: string;
  /** The schema of its content (the source's `accounts` key). */
  schema: z.ZodType<A[]>;
  env?: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Told the secret values of each version read (before anything may log them). */
  secrets?: (values: readonly string[]) => void;
  /** Called with the accounts of a file that validated (never with one that did not). */
  apply: (accounts: A[]) => void;
  /** Told the refusal of a version (its located errors, one line), and `undefined` once a version is applied again: the views show it meanwhile. */
  refused?: (message: string | undefined) => void;
  pollMs?: number;
  /** Times the settle delay after a change event (`ctx.clock`). Default: the system clock. */
  clock?: Clock;
}

/**
 * Watches a source's `accounts_file` (change events on its directory, so an editor's
 * write-and-rename is seen, and a stat poll as a fallback) and hands each version that validates
 * to `apply`. A version that does not (bad YAML, a key the schema refuses, a variable not set, a
 * name twice) is refused with its located errors in one log line; the running accounts stay.
 */
export class AccountsFileWatch<A extends { name: string }> {
  private watcher: FSWatcher | undefined;
  private timer: Timer | undefined;
  private lastText: string | undefined;
  /** The text of the version refused last: the change event and the stat poll both see it; it is refused (and logged) once. */
  private refusedText: string | undefined;
  private reading: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: AccountsFileWatchOptions<A>) {}

  /** Starts watching; `initialText`: the file as the pipeline was resolved from (unchanged files are not re-applied). */
  start(initialText?: string): void {
    this.lastText = initialText;
    if (initialText === undefined) void readFile(this.o.file, 'utf8').then((t) => (this.lastText ??= t), () => {});
    try {
      this.watcher = watch(dirname(this.o.file), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(this.o.file)) this.soon();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No change events here: the poll below sees changes.
    }
    watchFile(this.o.file, { persistent: false, interval: this.o.pollMs ?? ACCOUNTS_FILE_POLL_MS }, () => this.soon());
  }

  private soon(): void {
    if (this.closed) return;
    this.timer?.cancel();
    this.timer = (this.o.clock ?? systemClock).setTimeout(() => void this.reload(false), SETTLE_MS);
  }

  /** Reads the file now; `force` (SIGHUP): applies it even when its text did not change (a variable may have). */
  reload(force = true): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce(force));
    return this.reading;
  }

  private async readOnce(force: boolean): Promise<void> {
    if (this.closed) return;
    let text: string;
    try {
      text = await readFile(this.o.file, 'utf8');
    } catch (err) {
      this.o.logger.error({ file: this.o.file, err }, 'accounts_file cannot be read: the running accounts stay');
      return;
    }
    if (!force && (text === this.lastText || text === this.refusedText)) return;
    const refused = (errors: readonly ConfigError[]): void => {
      this.refusedText = text;
      const message = errors.map((e) => e.message).join('; ');
      this.o.logger.error({ file: this.o.file, errors: errors.map((e) => ({ code: e.code, message: e.message })) }, `accounts_file refused, the running accounts stay: ${message}`);
      this.o.refused?.(`accounts_file refused, the running accounts stay until a version that validates is read: ${message}`);
    };
    let doc: YamlDocument;
    try {
      doc = YamlDocument.parse(text, this.o.file, this.o.env ?? process.env);
    } catch (err) {
      if (err instanceof ConfigErrors) return refused(err.errors);
      return refused([new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read ${this.o.file}: ${(err as Error).message}`)]);
    }
    // Redacted before anything is said about this version (a refusal quotes the file).
    this.o.secrets?.(collectSecrets(this.o.schema, doc.value));
    const checked = validateConfig(this.o.schema, doc.value, doc, []);
    if (!checked.ok) return refused(checked.errors);
    const accounts = checked.data ?? [];
    const names = accounts.map((a) => a.name);
    const once = new Set<string>();
    const twice = [...new Set(names.filter((n) => once.size === once.add(n).size))];
    if (twice.length) return refused([new ConfigError('CONFIG_INVALID_VALUE', `account names must differ: ${twice.join(', ')} more than once`, { location: doc.locate([names.lastIndexOf(twice[0]!)], 'name') })]);
    this.lastText = text;
    this.refusedText = undefined;
    this.o.refused?.(undefined);
    this.o.logger.info({ file: this.o.file, accounts: accounts.length }, 'accounts_file read again: accounts added, removed and changed take effect now');
    this.o.apply(accounts);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.watcher?.close();
    unwatchFile(this.o.file);
  }
}
