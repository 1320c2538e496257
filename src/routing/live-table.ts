/**
 * The routing table in use, and how it follows the registry. A change is noted (`changed`); one
 * build then runs through the `TableBuilder` (off the event loop at scale), and the finished table
 * is swapped in whole, in one synchronous step, so an utterance sees the old table or the new one,
 * never half of either. Changes noted while a build runs mark it stale and one more build follows:
 * never two at once, and a burst of changes costs one or two builds, not one each.
 *
 * Read-your-writes: `current()` resolves once a table built from data read at or after every change
 * noted so far is live, so POST /register can answer only when its target routes.
 */
import { RoutingTableStale } from '../errors.js';
import type { RoutingTable } from './routing-table.js';
import type { TableBuilder } from './table-builder.js';

export interface LiveTableOptions {
  readonly builder: TableBuilder;
  /** Called in the same synchronous step as the swap (end sessions, forget health). */
  readonly onSwap: (previous: RoutingTable, next: RoutingTable) => void;
  /** A failed build: logged by the caller; the old table keeps serving. */
  readonly onError: (err: Error) => void;
}

interface Waiter {
  readonly change: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class LiveTable {
  #table: RoutingTable;
  readonly #options: LiveTableOptions;
  /** Changes noted so far (a counter). */
  #noted = 0;
  /** Changes included in the live table. */
  #live = 0;
  /** Changes the latest build started from (successful or not): failed builds are not retried. */
  #attempted = 0;
  #running = false;
  #closed = false;
  #waiters: Waiter[] = [];

  constructor(table: RoutingTable, options: LiveTableOptions) {
    this.#table = table;
    this.#options = options;
  }

  get table(): RoutingTable {
    return this.#table;
  }

  /** Whether a build is running or about to (for tests and diagnostics). */
  get building(): boolean {
    return this.#running;
  }

  /** Notes that the registry changed (the change is already committed). */
  changed(): void {
    this.#noted++;
    this.#kick();
  }

  /**
   * Resolves when the live table includes every change noted so far; rejects with
   * `RoutingTableStale` if the build meant to include them failed.
   */
  current(): Promise<void> {
    const change = this.#noted;
    if (this.#live >= change) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ change, resolve, reject }));
  }

  /** Stops building; waiters are released with a failure. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#options.builder.close();
    this.#settle(Infinity, new RoutingTableStale('shutting down'));
  }

  #kick(): void {
    if (this.#running || this.#closed || this.#attempted >= this.#noted) return;
    this.#running = true;
    // A burst of changes in one tick (a restore, several registrations) starts one build.
    setImmediate(() => void this.#run());
  }

  async #run(): Promise<void> {
    // Everything noted by now was committed before the build reads the registry.
    const change = this.#noted;
    this.#attempted = change;
    try {
      const next = await this.#options.builder.build();
      if (this.#closed) return;
      const previous = this.#table;
      this.#table = next;
      this.#live = change;
      this.#options.onSwap(previous, next);
      // Nothing holds a table past a synchronous step (an utterance is matched in one), so the
      // old one's memory can go now.
      previous.release();
      this.#settle(change);
    } catch (err) {
      if (this.#closed) return;
      this.#options.onError(err as Error);
      this.#settle(change, new RoutingTableStale((err as Error).message));
    } finally {
      this.#running = false;
      this.#kick();
    }
  }

  /** Releases the waiters for changes up to `change`. */
  #settle(change: number, failure?: Error): void {
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.change > change) still.push(w);
      else if (failure) w.reject(failure);
      else w.resolve();
    }
    this.#waiters = still;
  }
}
