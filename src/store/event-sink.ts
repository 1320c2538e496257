/**
 * Where the decision log's rows go. `EventWriter` (events.ts) is a sink itself, writing on the
 * calling thread: right for tests and tools. `echonet serve` writes through WorkerEventSink
 * instead: a worker thread with its own connection to the file does the inserts, the retention
 * deletes and the WAL checkpoints those commits trigger, so none of them runs on the event loop
 * that answers requests (measured on the bench's wake load, c=32: the log on the main thread cost
 * 25 µs of CPU per request and doubled the p99; bench/NOTES.md, seventh pass).
 */
import { Worker } from 'node:worker_threads';

/** A sink may answer at once (EventWriter) or later (WorkerEventSink). */
export interface EventSink {
  /**
   * Writes a batch encoded by events.ts `encodeEvent` (one JSON array a line) in one transaction;
   * each row's seq. Throws or rejects writing nothing. The caller leaves the bytes alone until it
   * settles (a worker may be reading them from shared memory).
   */
  insertEncoded(batch: Uint8Array): number[] | Promise<number[]>;
  /** Deletes up to `limit` of the oldest rows received before `cutoffMs`; how many. */
  pruneOlderThan(cutoffMs: number, limit: number): number | Promise<number>;
  /** Deletes up to `limit` of the oldest rows beyond the newest `keep`; how many. */
  pruneBeyond(keep: number, limit: number): number | Promise<number>;
  /** Writes nothing more and lets go of what it holds (a worker, a connection). */
  close?(): Promise<void>;
}

/** What the main thread asks the event worker (src/store/event-worker.ts). */
export type EventWorkerRequest =
  // The encoded batch. Over a SharedArrayBuffer (the decision log's) it is shared, not copied: the
  // log leaves that buffer alone until the answer comes back.
  | { readonly id: number; readonly op: 'insert'; readonly batch: Uint8Array }
  | { readonly id: number; readonly op: 'pruneOlderThan'; readonly args: [number, number] }
  | { readonly id: number; readonly op: 'pruneBeyond'; readonly args: [number, number] }
  | { readonly id: number; readonly op: 'close' };

export type EventWorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly code?: string };

export interface WorkerEventSinkOptions {
  /** The worker's module: dist/event-worker.mjs (scripts/bundle.mjs builds it). */
  readonly workerUrl: URL;
  readonly dbPath: string;
}

/**
 * The writer's heap. Its garbage is one batch's decoded rows (about 150 under load), so a young
 * generation of 1 MiB is enough; left alone it would grow to the main thread's (the process-wide
 * --max-semi-space-size, 2 x 8 MiB), resident for nothing. Measured at 100 000 phrases after the
 * bench's wake load: 141 against 145 MiB RSS. The old-generation cap is far above what it holds
 * (a few MiB); a writer that ever reached it would end and be restarted by the next batch.
 */
const WRITER_HEAP = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 64 } as const;

/**
 * One long-lived worker for the server's life (decisions arrive all the time): requests are
 * answered in order. A worker that dies fails what it was asked; the next request starts another.
 */
export class WorkerEventSink implements EventSink {
  readonly #options: WorkerEventSinkOptions;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #closed = false;

  constructor(options: WorkerEventSinkOptions) {
    this.#options = options;
  }

  insertEncoded(batch: Uint8Array): Promise<number[]> {
    return this.#ask({ id: 0, op: 'insert', batch }) as Promise<number[]>;
  }

  pruneOlderThan(cutoffMs: number, limit: number): Promise<number> {
    return this.#ask({ id: 0, op: 'pruneOlderThan', args: [cutoffMs, limit] }) as Promise<number>;
  }

  pruneBeyond(keep: number, limit: number): Promise<number> {
    return this.#ask({ id: 0, op: 'pruneBeyond', args: [keep, limit] }) as Promise<number>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const worker = this.#worker;
    // Closes the worker's connection (folding its WAL back when it is the last) before it ends.
    if (worker) await this.#ask({ id: 0, op: 'close' }).catch(() => {});
    this.#closed = true;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #ask(request: EventWorkerRequest): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the decision log writer is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ensureWorker().postMessage({ ...request, id });
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.#options.workerUrl, {
      workerData: { dbPath: this.#options.dbPath },
      resourceLimits: WRITER_HEAP,
    });
    // Never what keeps the process alive: close() ends it on shutdown.
    worker.unref();
    this.#worker = worker;
    worker.on('message', (reply: EventWorkerReply) => {
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (!pending) return;
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(Object.assign(new Error(reply.error), { code: reply.code }));
    });
    worker.on('error', (err) => this.#lost(worker, err));
    worker.on('exit', (code) =>
      this.#lost(worker, new Error(`the decision log writer exited (code ${code})`)),
    );
    return worker;
  }

  #lost(worker: Worker, err: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
