// Group commit (docs/decisions/relay-store.md): the writes that arrive while the
// event loop is busy are run together in one transaction, and each caller's promise
// settles after that transaction's commit has reached the disk (one fsync for the
// whole group, waited for off the event loop when the target can). Each write runs
// in its own savepoint, so one failing write fails alone.

export interface GroupCommitTarget<Tx> {
  /** Runs `body` in one transaction and commits it (durably); throws when the commit fails. */
  transaction(body: (tx: Tx) => Promise<void> | void): Promise<void> | void;
  /** Runs one write inside the open transaction, isolated by a savepoint. */
  savepoint<T>(tx: Tx, write: (tx: Tx) => Promise<T> | T): Promise<T> | T;
  /**
   * When `transaction` commits without waiting for the disk: resolves once that commit is
   * on the disk (SQLite: the WAL's fsync, on libuv's thread pool, off the event loop).
   * The group's promises settle only then.
   */
  durable?(): Promise<void>;
  /** Something to wait for, off the event loop, before the next transaction begins (SQLite: a checkpoint under way). */
  ready?(): Promise<void> | undefined;
}

interface Pending<Tx> {
  readonly write: (tx: Tx) => unknown;
  /** False: settles at the commit, without waiting for the disk (see run). */
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit<Tx> {
  readonly #target: GroupCommitTarget<Tx>;
  #queue: Pending<Tx>[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  /** Groups committed so far, and writes in them (for the bench and tests). */
  groups = 0;
  writes = 0;

  constructor(target: GroupCommitTarget<Tx>) {
    this.#target = target;
  }

  /**
   * Queues `write` for the next group; resolves with its result once the group is committed
   * (durably). `{ durable: false }`: once committed, without waiting for the disk, for a
   * write that only counts once a later durable commit names it (a streamed upload's chunks,
   * docs/api.md §8.2.1: the commits reach the disk in order, so the later one's fsync covers
   * it). A group of such writes alone skips the wait.
   */
  run<T>(write: (tx: Tx) => Promise<T> | T, options: { readonly durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, durable: options.durable !== false, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== null) return;
    this.#scheduled = true;
    // After the I/O callbacks of this turn: every request that arrived in it joins the group.
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#flush().finally(() => {
        this.#running = null;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const waiting = this.#target.ready?.();
    if (waiting !== undefined) await waiting;
    const group = this.#queue;
    this.#queue = [];
    if (group.length === 0) return;
    const outcomes: Outcome[] = [];
    // Synchronous targets (SQLite) run the whole group without yielding to the event
    // loop, so no other code ever sees the open transaction.
    const runAll = (tx: Tx): Promise<void> | void => {
      let index = 0;
      const next = (): Promise<void> | void => {
        for (; index < group.length; index++) {
          let result: unknown;
          try {
            result = this.#target.savepoint(tx, (group[index] as Pending<Tx>).write);
          } catch (error) {
            outcomes.push({ ok: false, error });
            continue;
          }
          if (result instanceof Promise) {
            index++;
            return result.then(
              (value: unknown) => void outcomes.push({ ok: true, value }),
              (error: unknown) => void outcomes.push({ ok: false, error }),
            ).then(next);
          }
          outcomes.push({ ok: true, value: result });
        }
      };
      return next();
    };
    try {
      const committing = this.#target.transaction(runAll);
      if (committing instanceof Promise) await committing;
      if (this.#target.durable !== undefined && group.some((pending) => pending.durable)) await this.#target.durable();
    } catch (error) {
      for (const pending of group) pending.reject(error);
      return;
    }
    this.groups += 1;
    this.writes += group.length;
    group.forEach((pending, index) => {
      const outcome = outcomes[index] as Outcome;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  /** Resolves when every write queued so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#running !== null || this.#scheduled) {
      await (this.#running ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }
}
