/**
 * Where routing tables are built. At 100 000 phrases a build takes over half a second of CPU; on
 * the event loop every utterance would wait for it, so a `WorkerTableBuilder` builds in a worker
 * thread (table-worker.ts) that reads the registry itself and posts the finished table back with
 * its arrays transferred: the main thread neither reads nor serialises the registry, and receiving
 * the table costs a millisecond or two (routing-table.ts `routingTableFrom`).
 *
 * Small registries are built inline: 2 000 phrases take about 10 ms (5 µs a phrase, measured at
 * 100 000), less than starting a worker, and keep tests deterministic. `inlineBelow` is the switch,
 * judged on `sizeBound` (an upper bound read cheaply before the build) or else on the size of the
 * last table built (0: always the worker, as the worker's own tests run).
 */
import { Worker } from 'node:worker_threads';
import type { MatchOptions } from '../matching/matcher.js';
import {
  buildRoutingTable,
  routingTableFrom,
  type RouteTarget,
  type RoutingTable,
  type RoutingTableData,
} from './routing-table.js';

export interface TableBuilder {
  /** A table built from the registry as it is when the build starts (read after this call). */
  build(): Promise<RoutingTable>;
  /** Stops any worker; a build still running rejects. */
  close(): Promise<void>;
}

/** What the main thread asks of the worker. */
export interface BuildRequest {
  readonly dbPath: string;
  readonly match: MatchOptions;
  /**
   * A rebuild while the server is answering: the worker lowers its thread's scheduling priority,
   * so on a busy machine the build takes the spare CPU and the event loop keeps its share. The
   * first build (start-up, when nothing is answered yet) runs at normal priority.
   */
  readonly background: boolean;
}

/** What the worker answers: the table as data (its buffers transferred), or why it failed. */
export type BuildReply =
  | {
      readonly ok: true;
      readonly table: RoutingTableData;
      readonly readMs: number;
      readonly buildMs: number;
    }
  | { readonly ok: false; readonly error: string };

/** Match options, or a function read at each build (the live match_* settings). */
export type MatchSource = MatchOptions | (() => MatchOptions);

function matchOf(source: MatchSource): MatchOptions {
  return typeof source === 'function' ? source() : source;
}

/** Builds on the calling thread from whatever `load` returns (the registry, read now). */
export function inlineTableBuilder(
  load: () => readonly RouteTarget[],
  match: MatchSource,
): TableBuilder {
  return {
    build: async () => buildRoutingTable(load(), matchOf(match)),
    close: async () => {},
  };
}

/** Phrases below which builds run inline: about 10 ms of build on the main thread (see header). */
export const DEFAULT_INLINE_BELOW = 2_000;

export interface WorkerTableBuilderOptions {
  /** The worker's module: dist/table-worker.mjs in production (scripts/bundle.mjs builds it). */
  readonly workerUrl: URL;
  readonly dbPath: string;
  readonly match: MatchSource;
  /** Builds small registries with this instead (see the header). */
  readonly inline: TableBuilder;
  /** Phrase count below which `inline` builds; 0 always uses the worker. */
  readonly inlineBelow?: number;
  /**
   * At most how many phrases the registry holds now (e.g. targets × the per-target limit), so a
   * registry that grew at once (a restore) is not built inline on the strength of its old size.
   */
  readonly sizeBound?: () => number;
  /**
   * Every build replaces a table that is already routing (the first one was built elsewhere, as
   * `echonet serve` does), so each runs at background priority; otherwise the first does not.
   */
  readonly rebuildsOnly?: boolean;
  /** Told how long each worker build took, and how long the main thread spent taking it in. */
  readonly onBuilt?: (timing: WorkerBuildTiming) => void;
}

export interface WorkerBuildTiming {
  readonly phrases: number;
  /** Worker: reading the registry, then compiling the table. */
  readonly readMs: number;
  readonly buildMs: number;
  /** Main thread: rebuilding the table's objects around the transferred arrays. */
  readonly receiveMs: number;
}

/**
 * One worker per burst of builds: started on demand, reused while builds follow one another, and
 * terminated once none is pending, so its heap (tens of MB during a 100 000-phrase build) does not
 * stay resident between registry changes.
 */
export class WorkerTableBuilder implements TableBuilder {
  readonly #options: WorkerTableBuilderOptions;
  #worker: Worker | undefined;
  /** Settles the build in progress (one at a time; live-table.ts never asks for two). */
  #pending: { resolve: (reply: BuildReply) => void; reject: (err: Error) => void } | undefined;
  #lastSize: number | undefined;
  #closed = false;

  constructor(options: WorkerTableBuilderOptions) {
    this.#options = options;
  }

  async build(): Promise<RoutingTable> {
    if (this.#closed) throw new Error('the table builder is closed');
    const inlineBelow = this.#options.inlineBelow ?? DEFAULT_INLINE_BELOW;
    const size = this.#options.sizeBound?.() ?? this.#lastSize;
    if (size !== undefined && size < inlineBelow) {
      const table = await this.#options.inline.build();
      this.#lastSize = table.triggers.size;
      return table;
    }
    if (this.#pending) throw new Error('a table build is already running');
    const reply = await new Promise<BuildReply>((resolve, reject) => {
      this.#pending = { resolve, reject };
      const request: BuildRequest = {
        dbPath: this.#options.dbPath,
        match: matchOf(this.#options.match),
        background: this.#options.rebuildsOnly === true || this.#lastSize !== undefined,
      };
      this.#ensureWorker().postMessage(request);
    });
    if (!reply.ok) throw new Error(reply.error);
    const started = performance.now();
    const table = routingTableFrom(reply.table);
    const receiveMs = performance.now() - started;
    this.#lastSize = table.triggers.size;
    this.#options.onBuilt?.({
      phrases: table.triggers.size,
      readMs: reply.readMs,
      buildMs: reply.buildMs,
      receiveMs,
    });
    return table;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#stop(new Error('the table builder was closed during a build'));
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.#options.workerUrl);
    this.#worker = worker;
    worker.on('message', (reply: BuildReply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve(reply);
      // A build that follows at once (live-table.ts coalesces changes) reuses this worker.
      setImmediate(() => {
        if (!this.#pending && this.#worker === worker) void this.#stop();
      });
    });
    worker.on('error', (err) => this.#lost(worker, err));
    worker.on('exit', (code) =>
      this.#lost(worker, new Error(`the routing-table worker exited (code ${code})`)),
    );
    return worker;
  }

  /** The worker died (a crash, an uncaught error): the build in progress fails, the next starts afresh. */
  #lost(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(err);
  }

  async #stop(reason?: Error): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) pending.reject(reason ?? new Error('the routing-table worker was stopped'));
    await worker.terminate();
  }
}
