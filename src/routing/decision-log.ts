/**
 * The decision log: every decision the text handler reports becomes one row of the `events` table,
 * written off the request path. `record` only queues (the request answers at once); a timer writes
 * the queue every FLUSH_WINDOW_MS in one transaction, and only then computes what the request did
 * not need (an idle utterance's near miss). A crash of the process therefore loses at most the
 * decisions of the last window (10 ms), plus any batch the database refused and the log was
 * holding to retry.
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
import type { StoredEvent } from '../store/events.js';
import type { DecisionRecord } from './decision-record.js';

export const EVENT_LOG_LEVELS = ['full', 'metadata', 'off'] as const;
export type EventLogLevel = (typeof EVENT_LOG_LEVELS)[number];

/** Where rows go: src/store/event-sink.ts (on this thread, or a worker's). */
export type { EventSink } from '../store/event-sink.js';

/** How long decisions wait to be written together: the most a crash can lose. */
export const FLUSH_WINDOW_MS = 10;
/** Most rows in one transaction; a bigger backlog is written over several windows. */
const MAX_BATCH = 2_000;
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
  /** Decisions not yet written, oldest first. */
  #queue: DecisionRecord[] = [];
  /** Events built from an earlier batch that the database refused, written first next time. */
  #retry: StoredEvent[] = [];
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

  /** The text handler's `onDecision`: queues, never blocks, never throws. */
  readonly record = (record: DecisionRecord): void => {
    if (this.#options.level === 'off' || this.#closed) return;
    this.#queue.push(record);
    if (this.#queue.length + this.#retry.length > MAX_QUEUED) this.#drop();
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
    const records = this.#queue.splice(0, Math.max(0, MAX_BATCH - this.#retry.length));
    const batch = [...this.#retry.splice(0), ...records.map((r) => this.#toEvent(r))];
    if (batch.length === 0) return;
    let written: number[] | Promise<number[]>;
    try {
      written = this.#options.sink.insert(batch);
    } catch (err) {
      this.#failed(batch, err as Error);
      return;
    }
    if (!(written instanceof Promise)) {
      this.#written(batch, written);
      return;
    }
    this.#writing = written.then(
      (seqs) => {
        this.#writing = undefined;
        this.#written(batch, seqs);
      },
      (err: Error) => {
        this.#writing = undefined;
        this.#failed(batch, err);
      },
    );
  }

  /** A batch the database refused (locked by another process, the disk full): held for later. */
  #failed(batch: StoredEvent[], err: Error): void {
    this.#retry = batch;
    this.#options.onError(err, 0);
    if (!this.#closed) this.#flushTimer ??= unref(setTimeout(() => this.flush(), 1_000));
  }

  #written(batch: StoredEvent[], seqs: number[]): void {
    // Only a live feed needs each event with its seq: no copies when nobody listens.
    if (this.#subscribers.size > 0) {
      batch.forEach((e, i) => {
        const event = { ...e, seq: seqs[i]! };
        for (const s of this.#subscribers) {
          try {
            s(event);
          } catch (err) {
            // One listener's failure is its own: the others and the writer go on.
            this.#options.onError(err as Error, 0);
          }
        }
      });
    }
    if (this.#queue.length > 0 && !this.#closed) {
      this.#flushTimer ??= unref(setTimeout(() => this.flush(), 0));
    }
    this.#schedulePrune();
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
    // Every batch left, not only the first (a backlog larger than MAX_BATCH).
    // No await unless something is in flight: with a sink on this thread, all is written before
    // close() first yields.
    for (;;) {
      if (this.#writing) await this.#writing;
      if (this.#pruning) await this.#pruning;
      if (this.#queue.length === 0 && this.#retry.length === 0) break;
      const before = this.#queue.length + this.#retry.length;
      this.flush();
      if (this.#writing) await this.#writing;
      // A database that refuses the batch again: stop trying, the rest is lost (and said so).
      if (this.#retry.length > 0 && this.#queue.length + this.#retry.length >= before) break;
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

  /** Drops the oldest tenth of what is held (one warning per tenth, not one per decision). */
  #drop(): void {
    const excess = this.#queue.length + this.#retry.length - MAX_QUEUED + MAX_QUEUED / 10;
    const fromRetry = Math.min(excess, this.#retry.length);
    this.#retry.splice(0, fromRetry);
    this.#queue.splice(0, excess - fromRetry);
    this.#options.onError(new Error('the decision log is not being written'), excess);
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
