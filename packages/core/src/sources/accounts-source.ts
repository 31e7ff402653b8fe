import type { CallEvent } from '../event.js';
import type { Source, SourcePage } from '../plugin.js';

/** The checkpoint of a source over many accounts: each account's own checkpoint, by account name. */
export interface AccountsCheckpoint<C> {
  '@accounts': Record<string, C>;
}

/** One account of {@link accountsSource}: its name (tagged on its events as `attributes.account`) and its own source. */
export interface AccountSource<C> {
  name: string;
  source: Source<C>;
}

type Pull<C> = { name: string; result: IteratorResult<SourcePage<C>> };

const tagged = (events: CallEvent[], account: string): CallEvent[] => events.map((e) => ({ ...e, attributes: { ...e.attributes, account } }));

/**
 * Reads many accounts of one service as one source (tenants): every account's source is read at
 * once, each a page ahead at most, and pages are handed on as they come, their events tagged with
 * `attributes.account`. The checkpoint holds every account's own checkpoint, as of the page it
 * comes with, so each account resumes where its acknowledged pages end. How many accounts call
 * the service at once is the accounts' sources' business (they share a permit, see
 * `PollRangesOptions.passPermit`). An account whose source fails fails the whole source, with the
 * account named in the log: an account that cannot be read is never silently skipped.
 */
export function accountsSource<C>(accounts: readonly AccountSource<C>[], log: (account: string, err: unknown) => void): Source<AccountsCheckpoint<C>> {
  return {
    bounded: accounts.every((a) => a.source.bounded),
    wellFormedEvents: accounts.every((a) => a.source.wellFormedEvents === true),
    async *read(checkpoint) {
      const positions: Record<string, C> = { ...(checkpoint?.['@accounts'] ?? {}) };
      const iterators = new Map(accounts.map((a) => [a.name, a.source.read(positions[a.name])[Symbol.asyncIterator]()]));
      const pending = new Map<string, Promise<Pull<C>>>();
      const pull = (name: string) =>
        pending.set(
          name,
          iterators
            .get(name)!
            .next()
            .then(
              (result) => ({ name, result }),
              (err: unknown) => {
                log(name, err);
                throw err;
              },
            ),
        );
      for (const name of iterators.keys()) pull(name);
      try {
        while (pending.size > 0) {
          const { name, result } = await Promise.race(pending.values());
          pending.delete(name);
          if (result.done) continue;
          const page = result.value;
          if (page.checkpoint !== undefined) positions[name] = page.checkpoint;
          pull(name);
          yield { ...page, events: tagged(page.events, name), checkpoint: page.checkpoint === undefined ? undefined : { '@accounts': { ...positions } } };
        }
      } finally {
        // A stop: end every account's read (their pending pulls settle on their own).
        for (const pulling of pending.values()) pulling.catch(() => {});
        await Promise.allSettled([...iterators.values()].map((it) => Promise.resolve(it.return?.())));
      }
    },
    async close() {
      await Promise.all(accounts.map((a) => Promise.resolve(a.source.close?.())));
    },
  };
}
