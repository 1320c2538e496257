/**
 * The decision log: every decision the text handler reports becomes one row of the `events` table,
 * written off the request path. `record` only queues (the request answers at once); a timer writes
 * the queue every FLUSH_WINDOW_MS in one transaction, and only then computes what the request did
 * not need (an idle utterance's near miss). A crash of the process loses the decisions not yet
 * committed: with a writer that keeps up, the last window (10 ms) and the batch being written;
 * while the writer is held up (another process's lock, a slow disk, a refused batch waiting its
 * 1 s retry) everything queued since, up to MAX_QUEUED decisions (README, "The decision log").
 *
 * Retention (age and row count) is enforced in bounded steps after each batch and once a minute
 * when nothing is said, so a backlog of expired rows is deleted a step at a time between
 * requests, never in one long delete.
 *
 * Live subscribers (GET /events/stream) hear of each event once its row is written, so what they
 * see can always be fetched again with GET /events/{id}.
 */
import type { Clock } from '../clock.js';
import type { EventSink } from '../store/event-sink.js';
import { decodeEncodedEvents, encodeEvent, type StoredEvent } from '../store/events.js';
import { detailWithoutWords, type DecisionRecord } from './decision-record.js';

export const EVENT_LOG_LEVELS = ['full', 'metadata', 'off'] as const;
export type EventLogLevel = (typeof EVENT_LOG_LEVELS)[number];

/** Where rows go: src/store/event-sink.ts (on this thread, or a worker's). */
export type { EventSink } from '../store/event-sink.js';

/** How long decisions wait to be written together: the most a crash can lose. */
export const FLUSH_WINDOW_MS = 10;
/** Most decisions held while the database refuses writes; the oldest are dropped beyond it. */
const MAX_QUEUED = 20_000;
/** Most rows one retention step deletes. */
const DEFAULT_PRUNE_STEP = 1_000;
/** How often retention runs when no decision arrives (expiry by age needs no new rows). */
const PRUNE_INTERVAL_MS = 60_000;
/** Least time between two retention rounds started by new rows (a busy log would prune per batch). */
const PRUNE_PACE_MS = 1_000;
const DAY_MS = 86_400_000;

export interface DecisionLogOptions {
  readonly level: EventLogLevel;
  readonly retentionDays: number;
  readonly maxRows: number;
  readonly sink: EventSink;
  readonly clock: Clock;
  /** A write or a prune that failed (the log keeps going); `dropped` counts lost decisions. */
  readonly onError: (err: Error, dropped: number) => void;
  /** Rows one retention step deletes at most (default 1000). */
  readonly pruneStep?: number;
}

export type EventSubscriber = (event: StoredEvent) => void;

export class DecisionLog {
  readonly #options: DecisionLogOptions;
  readonly #pruneStep: number;
  /**
   * Decisions not yet written, oldest first, encoded as they arrive (events.ts `encodeEvent`) into
   * bytes off the JS heap: a decision waits up to a flush window, long enough for the young
   * generation to be collected once or twice under load, and objects kept that long get copied and
   * then promoted, which cost more than all the rest of the log (bench/NOTES.md, seventh pass).
   */
  #pending = new PendingBatch();
  /**
   * The other buffer: empty, or the batch being written (or held for a retry). Two buffers, each
   * allocated once and reused while the writer reads the other.
   */
  #spare = new PendingBatch();
  /** Idle decisions wait as objects (their near miss is worked out at flush), with their place. */
  #idle: { readonly at: number; readonly record: DecisionRecord }[] = [];
  /** A batch the database refused, written first next time. */
  #retry: PendingBatch | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  /** The batch a worker sink is writing (one at a time, so rows keep their order). */
  #writing: Promise<void> | undefined;
  /** A retention step a worker sink is running. */
  #pruning: Promise<void> | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last retention step. */
  #prunedAt = -Infinity;
  readonly #interval: NodeJS.Timeout;
  readonly #subscribers = new Set<EventSubscriber>();
  #closed = false;
  /** Decisions in the batch being written (a worker sink's write in flight). */
  #inFlight = 0;
  /** Decisions dropped since start (the database refused writes for too long). */
  #dropped = 0;

  constructor(options: DecisionLogOptions) {
    this.#options = options;
    this.#pruneStep = options.pruneStep ?? DEFAULT_PRUNE_STEP;
    this.#interval = setInterval(() => this.#schedulePrune(), PRUNE_INTERVAL_MS);
    this.#interval.unref();
    // Rows that expired while the server was down go soon after start-up.
    this.#schedulePrune();
  }

  get level(): EventLogLevel {
    return this.#options.level;
  }

  /** Decisions not yet written: pending, held for a retry, or being written (for the metrics). */
  get queued(): number {
    return this.#pending.count + (this.#retry?.count ?? 0) + this.#inFlight;
  }

  /** Decisions dropped since start because the database refused writes (for the metrics). */
  get dropped(): number {
    return this.#dropped;
  }

  /** The text handler's `onDecision`: queues, never blocks, never throws. */
  readonly record = (record: DecisionRecord): void => {
    if (this.#options.level === 'off' || this.#closed) return;
    if (record.idle) this.#idle.push({ at: this.#pending.length, record });
    else this.#pending.append(encodeEvent(this.#toEvent(record)));
    this.#pending.count++;
    if (this.#pending.count + (this.#retry?.count ?? 0) > MAX_QUEUED) this.#drop();
    this.#flushTimer ??= unref(setTimeout(() => this.flush(), FLUSH_WINDOW_MS));
  };

  /** Hears of each event once written; returns the unsubscribe function. */
  subscribe(subscriber: EventSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Writes what is queued now (the timer calls it; so does `close`). */
  flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    // A batch still being written: its end writes what queued meanwhile.
    if (this.#writing) return;
    const batch = this.#retry ?? this.#take();
    this.#retry = undefined;
    if (batch.count === 0) return;
    let written: number[] | Promise<number[]>;
    try {
      written = this.#options.sink.insertEncoded(batch.bytes());
    } catch (err) {
      this.#failed(batch, err as Error);
      return;
    }
    if (!(written instanceof Promise)) {
      this.#written(batch, written);
      return;
    }
    this.#inFlight = batch.count;
    this.#writing = written.then(
      (seqs) => {
        this.#writing = undefined;
        this.#inFlight = 0;
        this.#written(batch, seqs);
      },
      (err: Error) => {
        this.#writing = undefined;
        this.#inFlight = 0;
        this.#failed(batch, err);
      },
    );
  }

  /**
   * The pending decisions as one batch, idle ones (with their near miss now) in their places; the
   * spare buffer takes the pending one's place.
   */
  #take(): PendingBatch {
    const pending = this.#pending;
    const idle = this.#idle;
    this.#pending = this.#spare;
    this.#spare = pending;
    this.#idle = [];
    if (idle.length === 0) return pending;
    // Idle decisions are few under load: this copy is rare.
    const merged = new PendingBatch(pending.length + idle.length * 512);
    let from = 0;
    for (const { at, record } of idle) {
      merged.appendBytes(pending.slice(from, at));
      merged.append(encodeEvent(this.#toEvent(record)));
      from = at;
    }
    merged.appendBytes(pending.slice(from, pending.length));
    merged.count = pending.count;
    pending.clear();
    return merged;
  }

  /** A batch the database refused (locked by another process, the disk full): held for later. */
  #failed(batch: PendingBatch, err: Error): void {
    this.#retry = batch;
    this.#options.onError(err, 0);
    if (!this.#closed) this.#flushTimer ??= unref(setTimeout(() => this.flush(), 1_000));
  }

  #written(batch: PendingBatch, seqs: number[]): void {
    // Only a live feed needs the events back as objects, with their seqs.
    if (this.#subscribers.size > 0) {
      for (const event of decodeEncodedEvents(batch.bytes(), seqs)) {
        for (const s of this.#subscribers) {
          try {
            s(event);
          } catch (err) {
            // One listener's failure is its own: the others and the writer go on.
            this.#options.onError(err as Error, 0);
          }
        }
      }
    }
    this.#release(batch);
    if (this.#pending.count > 0 && !this.#closed) {
      this.#flushTimer ??= unref(setTimeout(() => this.flush(), 0));
    }
    this.#schedulePrune();
  }

  /** A written or dropped batch: emptied, and kept as the spare if it is one of the two. */
  #release(batch: PendingBatch): void {
    batch.clear();
  }

  /**
   * Writes what is left and stops the timers; later decisions are not logged. With a sink on this
   * thread everything is written before it returns; a worker sink's writes are awaited, and the
   * sink is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#interval);
    if (this.#pruneTimer) clearTimeout(this.#pruneTimer);
    this.#pruneTimer = undefined;
    // Every batch left: one held for a retry, then what is pending.
    // No await unless something is in flight: with a sink on this thread, all is written before
    // close() first yields.
    for (;;) {
      if (this.#writing) await this.#writing;
      if (this.#pruning) await this.#pruning;
      if (this.#pending.count === 0 && !this.#retry) break;
      this.flush();
      if (this.#writing) await this.#writing;
      // A database that refuses the batch again: stop trying, the rest is lost.
      if (this.#retry) break;
    }
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#subscribers.clear();
    if (this.#options.sink.close) await this.#options.sink.close();
  }

  /**
   * One retention step, at most one a second (coalesced), then more steps at once while each finds
   * a full step to delete: a backlog goes a step at a time with requests served in between.
   */
  #schedulePrune(soon = false): void {
    if (this.#pruneTimer || this.#pruning || this.#closed) return;
    const wait = soon ? 0 : Math.max(0, this.#prunedAt + PRUNE_PACE_MS - performance.now());
    this.#pruneTimer = unref(
      setTimeout(() => {
        this.#pruneTimer = undefined;
        this.#prunedAt = performance.now();
        const more = this.#pruneOnce();
        if (typeof more === 'boolean') {
          if (more) this.#schedulePrune(true);
          return;
        }
        this.#pruning = more.then((again) => {
          this.#pruning = undefined;
          if (again) this.#schedulePrune(true);
        });
      }, wait),
    );
  }

  /** Deletes at most one step of expired or surplus rows; true when more may remain. */
  #pruneOnce(): boolean | Promise<boolean> {
    const { sink, clock, retentionDays, maxRows } = this.#options;
    const step = this.#pruneStep;
    const failed = (err: unknown) => {
      this.#options.onError(err as Error, 0);
      return false;
    };
    try {
      const old = sink.pruneOlderThan(clock.now() - retentionDays * DAY_MS, step);
      if (old instanceof Promise) {
        return old
          .then(async (o) => o === step || (await sink.pruneBeyond(maxRows, step)) === step)
          .catch(failed);
      }
      const surplus = sink.pruneBeyond(maxRows, step);
      if (surplus instanceof Promise) return surplus.then((n) => old === step || n === step);
      return old === step || surplus === step;
    } catch (err) {
      return failed(err);
    }
  }

  /**
   * Too much held while the database refuses writes: the oldest batch goes (the one held for a
   * retry), or, with none, what is pending; one warning per drop, not one per decision.
   */
  #drop(): void {
    let count: number;
    if (this.#retry) {
      count = this.#retry.count;
      this.#release(this.#retry);
      this.#retry = undefined;
    } else {
      // Not swapped out: the spare may be the batch being written.
      count = this.#pending.count;
      this.#pending.clear();
      this.#idle = [];
    }
    this.#dropped += count;
    this.#options.onError(new Error('the decision log is not being written'), count);
  }

  #toEvent(r: DecisionRecord): StoredEvent {
    const full = this.#options.level === 'full';
    const near = nearMiss(r);
    return {
      seq: 0,
      id: r.id,
      receivedAt: r.receivedAt,
      sourceId: r.sourceId,
      room: r.room,
      text: full ? r.text : null,
      confidence: r.confidence,
      listenMode: r.listenMode,
      mode: r.mode,
      // The phrase in `trigger_phrase:<phrase>` (or `trigger_name:`) is the words that were matched.
      reason: full ? r.reason : r.reason.replace(/^(trigger_phrase|trigger_name):.*/s, '$1'),
      target: r.target,
      match: r.match && {
        phrase: full ? r.match.phrase : null,
        matchedText: full ? r.match.matched_text : null,
        score: r.match.score,
        exact: r.match.exact,
      },
      sessionId: r.sessionId,
      sessionChange: r.sessionChange,
      forwarded: r.forwarded,
      status: r.status,
      latencyMs: r.latencyMs,
      failure: r.failure,
      intendedTarget: r.intendedTarget,
      // A reply is words, like the text: kept only at the full level. That there was one, and
      // that it was cut, are metadata.
      reply: full ? r.reply : null,
      replyTruncated: r.replyTruncated,
      frontEnd: r.frontEnd,
      conversationId: r.conversationId,
      // The competing texts and the echoed reply are words too.
      detail: r.detail && (full ? r.detail : detailWithoutWords(r.detail)),
      nearMiss: near && {
        phrase: full ? near.phrase : null,
        target: near.target,
        matchedText: full ? near.matchedText : null,
        score: near.score,
      },
      privacy: full ? 'full' : 'metadata',
    };
  }
}

/**
 * What an idle utterance came nearest to, against the table that decided. That table may have
 * been replaced and released since (a registration within the window): then there is no answer.
 */
function nearMiss(r: DecisionRecord) {
  if (!r.idle?.triggers.nearMiss) return null;
  try {
    return r.idle.triggers.nearMiss(r.idle.utterance, { names: r.idle.names === true });
  } catch {
    return null;
  }
}

function unref(timer: NodeJS.Timeout): NodeJS.Timeout {
  timer.unref();
  return timer;
}

/** Encoded decisions (events.ts `encodeEvent`, one a line) in a buffer outside the JS heap. */
class PendingBatch {
  #buf: Buffer;
  length = 0;
  count = 0;

  constructor(size = 64 * 1024) {
    this.#buf = PendingBatch.#alloc(size);
  }

  /**
   * Shared memory: the writer thread reads a batch where it lies, so handing it over copies
   * nothing and allocates nothing (a copy per batch, or a buffer transferred and replaced, costs
   * measurably more GC work under load).
   */
  static #alloc(size: number): Buffer {
    return Buffer.from(new SharedArrayBuffer(size));
  }

  append(line: string): void {
    this.#room(Buffer.byteLength(line));
    this.length += this.#buf.write(line, this.length);
  }

  appendBytes(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** A view of what was appended (valid until the next clear or append). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  slice(from: number, to: number): Uint8Array {
    return this.#buf.subarray(from, to);
  }

  clear(): void {
    this.length = 0;
    this.count = 0;
  }

  #room(need: number): void {
    if (this.length + need <= this.#buf.length) return;
    const bigger = PendingBatch.#alloc(Math.max(this.#buf.length * 2, this.length + need));
    this.#buf.copy(bigger, 0, 0, this.length);
    this.#buf = bigger;
  }
}
