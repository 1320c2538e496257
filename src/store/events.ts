/**
 * The decision log's table (schema v7, with v9's reply and front-end columns and v10's detail): one row per
 * utterance, written in batches by src/routing/decision-log.ts and read by GET /events and
 * `echonet events`.
 *
 * `echonet serve` writes through a worker thread with a connection of its own (event-sink.ts,
 * event-worker.ts), set up once for the log: `synchronous = NORMAL` (in WAL mode a commit is a
 * write to the WAL without an fsync; it survives a crash of the process, a power cut may lose what
 * the OS had not yet written; registrations keep FULL). Its commits move the registry connection's
 * `PRAGMA data_version`, so the server's watch checks the registry change counter (schema v8)
 * before it rebuilds anything. Written on the caller's thread instead (tests, tools), each batch
 * runs with `synchronous = NORMAL` and a busy timeout of 0: when another process holds the write
 * lock the batch fails fast and stays queued instead of stalling every request behind it.
 */
import type Database from 'better-sqlite3';
import type { DecisionDetail } from '../routing/decision-record.js';
import { ValidationError } from '../errors.js';
import { BUSY_TIMEOUT_MS, type Db } from './db.js';
import { hasColumn, hasTable } from './migrations.js';

/** How much of an utterance a row keeps (ECHONET_EVENT_LOG). */
export type EventPrivacy = 'full' | 'metadata';

export interface StoredEvent {
  /** Insertion order; the list cursor. 0 until the row is written. */
  readonly seq: number;
  readonly id: string;
  /** ms since the epoch. */
  readonly receivedAt: number;
  readonly sourceId: string;
  readonly room: string | null;
  readonly text: string | null;
  readonly confidence: number | null;
  readonly listenMode: string;
  readonly mode: string;
  readonly reason: string;
  readonly target: string | null;
  readonly match: {
    readonly phrase: string | null;
    readonly matchedText: string | null;
    readonly score: number;
    readonly exact: boolean;
  } | null;
  readonly sessionId: string | null;
  readonly sessionChange: string | null;
  readonly forwarded: boolean;
  readonly status: number | null;
  readonly latencyMs: number | null;
  readonly failure: string | null;
  /** When the fallback target took the utterance's turn: the target it was meant for. */
  readonly intendedTarget: string | null;
  /** The reply handed back to the speaker (null at the metadata level, or when there was none). */
  readonly reply: string | null;
  readonly replyTruncated: boolean;
  /** Which front end heard it (`http`, `wyoming`…). */
  readonly frontEnd: string;
  /** The front end's own conversation id (Home Assistant's), else null. */
  readonly conversationId: string | null;
  /**
   * Why rooms dropped the utterance or let it win (src/routing/decision-record.ts
   * DecisionDetail), stored as JSON; null for most rows.
   */
  readonly detail: DecisionDetail | null;
  readonly nearMiss: {
    readonly phrase: string | null;
    readonly target: string;
    readonly matchedText: string | null;
    readonly score: number;
  } | null;
  readonly privacy: EventPrivacy;
}

export interface EventQuery {
  /** 1 to MAX_EVENT_LIMIT. */
  readonly limit: number;
  /** Only rows logged before this seq (the previous page's `nextBefore`). */
  readonly before?: number | undefined;
  /** Only rows logged after this seq, oldest first (`echonet events --follow`). */
  readonly after?: number | undefined;
  readonly sourceId?: string | undefined;
  readonly target?: string | undefined;
  readonly mode?: string | undefined;
  /** Case-insensitive substring of the text (rows logged as metadata have none). */
  readonly q?: string | undefined;
}

export const DEFAULT_EVENT_LIMIT = 50;
export const MAX_EVENT_LIMIT = 500;

interface EventRow {
  seq: number;
  id: string;
  received_at: number;
  source_id: string;
  room: string | null;
  text: string | null;
  confidence: number | null;
  listen_mode: string;
  mode: string;
  reason: string;
  target: string | null;
  match_phrase: string | null;
  match_text: string | null;
  match_score: number | null;
  match_exact: number | null;
  session_id: string | null;
  session_change: string | null;
  forwarded: number;
  status: number | null;
  latency_ms: number | null;
  failure: string | null;
  near_phrase: string | null;
  near_target: string | null;
  near_text: string | null;
  near_score: number | null;
  privacy: string;
  reply: string | null;
  reply_truncated: number;
  front_end: string;
  conversation_id: string | null;
  intended_target: string | null;
  detail: string | null;
}

/** The columns an INSERT writes, in `eventValues`' order (`seq` is SQLite's to give). */
const INSERT_COLUMNS = [
  'id',
  'received_at',
  'source_id',
  'room',
  'text',
  'confidence',
  'listen_mode',
  'mode',
  'reason',
  'target',
  'match_phrase',
  'match_text',
  'match_score',
  'match_exact',
  'session_id',
  'session_change',
  'forwarded',
  'status',
  'latency_ms',
  'failure',
  'near_phrase',
  'near_target',
  'near_text',
  'near_score',
  'privacy',
  'reply',
  'reply_truncated',
  'front_end',
  'conversation_id',
  'intended_target',
  'detail',
] as const satisfies readonly Exclude<keyof EventRow, 'seq'>[];

const V7_COLUMNS = `seq, id, received_at, source_id, room, text, confidence, listen_mode, mode,
  reason, target, match_phrase, match_text, match_score, match_exact, session_id, session_change,
  forwarded, status, latency_ms, failure, near_phrase, near_target, near_text, near_score, privacy`;
const V9_COLUMNS = `${V7_COLUMNS}, reply, reply_truncated, front_end, conversation_id, intended_target`;
const COLUMNS = `${V9_COLUMNS}, detail`;
/**
 * An older file (read by a command that never migrates, before the server upgraded it) lacks the
 * later columns: its rows read as what the later versions' defaults give them.
 */
const COLUMNS_BEFORE_V10 = `${V9_COLUMNS}, NULL AS detail`;
const COLUMNS_BEFORE_V9 = `${V7_COLUMNS}, NULL AS reply, 0 AS reply_truncated,
  'http' AS front_end, NULL AS conversation_id, NULL AS intended_target, NULL AS detail`;

/** A `before`/`after` cursor as it arrives in a URL or on the command line. */
export function parseEventCursor(raw: string, field: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw)) {
    throw new ValidationError(`${field} must be a cursor (a positive integer from next_before)`);
  }
  return Number(raw);
}

/** Reads the log; works on any connection, read-only ones included. */
export class EventReader {
  readonly #db: Db;
  readonly #get;
  readonly #latestSeq;
  /** One statement per combination of filters, prepared on first use. */
  readonly #lists = new Map<string, Database.Statement<unknown[], EventRow>>();

  readonly #columns: string;

  constructor(db: Db) {
    this.#db = db;
    this.#columns = hasColumn(db, 'events', 'detail')
      ? COLUMNS
      : hasColumn(db, 'events', 'front_end')
        ? COLUMNS_BEFORE_V10
        : COLUMNS_BEFORE_V9;
    this.#get = db.prepare<[string], EventRow>(`SELECT ${this.#columns} FROM events WHERE id = ?`);
    this.#latestSeq = db.prepare<[], number | null>('SELECT MAX(seq) FROM events').pluck();
  }

  get(id: string): StoredEvent | undefined {
    const row = this.#get.get(id);
    return row && toEvent(row);
  }

  /** The highest seq written so far (0 when the log is empty). */
  latestSeq(): number {
    return this.#latestSeq.get() ?? 0;
  }

  /** Newest first, or oldest first when `after` is given. */
  list(query: EventQuery): StoredEvent[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      params.push(value);
    };
    if (query.before !== undefined) add('seq < ?', query.before);
    if (query.after !== undefined) add('seq > ?', query.after);
    if (query.sourceId !== undefined) add('source_id = ?', query.sourceId);
    if (query.target !== undefined) add('target = ?', query.target);
    if (query.mode !== undefined) add('mode = ?', query.mode);
    if (query.q !== undefined) add("text LIKE ? ESCAPE '\\'", `%${escapeLike(query.q)}%`);
    const order = query.after === undefined ? 'DESC' : 'ASC';
    const sql =
      `SELECT ${this.#columns} FROM events` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY seq ${order} LIMIT ?`;
    let statement = this.#lists.get(sql);
    if (!statement) {
      statement = this.#db.prepare<unknown[], EventRow>(sql);
      this.#lists.set(sql, statement);
    }
    return statement.all(...params, query.limit).map(toEvent);
  }
}

/** The reader for a database that may predate v7 (read-only commands never migrate). */
export function eventReaderIfPresent(db: Db): EventReader | undefined {
  return hasTable(db, 'events') ? new EventReader(db) : undefined;
}

/** The server's writing side: batches in one transaction, and pruning in bounded steps. */
export class EventWriter extends EventReader {
  readonly #db: Db;
  readonly #insert;
  readonly #pruneOlder;
  readonly #pruneUpTo;
  readonly #minSeq;

  readonly #dedicated: boolean;

  /**
   * `dedicated`: the connection writes the log and nothing else (the event worker's), so it is set
   * up for it once: no fsync per commit, and a lock wait that blocks only its own thread.
   */
  constructor(db: Db, options: { readonly dedicated?: boolean } = {}) {
    super(db);
    this.#db = db;
    this.#dedicated = options.dedicated ?? false;
    if (this.#dedicated) db.exec('PRAGMA synchronous = NORMAL');
    // Positional parameters, bound from the event directly: no row object per decision.
    this.#insert = db.prepare<unknown[]>(
      `INSERT INTO events (${INSERT_COLUMNS.join(', ')})
       VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`,
    );
    // Looks at the oldest `limit` rows only (rows are logged in about the order they arrived), so
    // a step reads and deletes at most `limit` rows whatever the table holds, without an index on
    // received_at.
    this.#pruneOlder = db.prepare<[number, number], unknown>(
      `DELETE FROM events WHERE seq IN (SELECT seq FROM
         (SELECT seq, received_at FROM events ORDER BY seq LIMIT ?) WHERE received_at < ?)`,
    );
    this.#pruneUpTo = db.prepare<[number, number], unknown>(
      `DELETE FROM events WHERE seq IN
         (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)`,
    );
    this.#minSeq = db.prepare<[], number | null>('SELECT MIN(seq) FROM events').pluck();
  }

  /**
   * Writes the batch in one transaction; returns each row's seq. Throws (writing nothing) when
   * the database is locked by another process or cannot be written.
   */
  insert(events: readonly StoredEvent[]): number[] {
    return this.insertRows(events.map(eventValues));
  }

  /** `insert` for a batch encoded by `encodeEvent` (what the decision log hands its writer). */
  insertEncoded(batch: Uint8Array): number[] {
    return this.insertRows(decodeEvents(batch));
  }

  insertRows(rows: readonly (readonly unknown[])[]): number[] {
    return this.#light(() =>
      this.#db.transaction(() =>
        rows.map((values) => Number(this.#insert.run(...values).lastInsertRowid)),
      )(),
    );
  }

  /**
   * Deletes those of the oldest `limit` rows received before `cutoffMs`; returns how many (fewer
   * than `limit` means the expired rows are gone, give or take a forward that outlasted others).
   */
  pruneOlderThan(cutoffMs: number, limit: number): number {
    return this.#light(() => this.#pruneOlder.run(limit, cutoffMs).changes);
  }

  /**
   * Deletes up to `limit` of the oldest rows beyond the newest `keep`; returns how many. Rows are
   * only ever deleted from the oldest end and seqs are never reused, so the rows beyond `keep` are
   * those at or below latest − keep (no count of the table needed).
   */
  pruneBeyond(keep: number, limit: number): number {
    const latest = this.latestSeq();
    const oldest = this.#minSeq.get() ?? null;
    if (oldest === null || latest - oldest + 1 <= keep) return 0;
    return this.#light(() => this.#pruneUpTo.run(latest - keep, limit).changes);
  }

  /** Runs `write` without an fsync and without waiting for a lock (see the header). */
  #light<T>(write: () => T): T {
    if (this.#dedicated) return write();
    // exec, not statements prepared once: SQLite applies these pragmas when it compiles them.
    this.#db.exec('PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 0');
    try {
      return write();
    } finally {
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA synchronous = FULL`);
    }
  }
}

/**
 * An event's column values in the INSERT's order: the row as the decision log encodes it (one JSON
 * array a line, `encodeEvent`) so that a waiting batch is bytes off the JS heap, not objects the
 * garbage collector has to copy (bench/NOTES.md, seventh pass).
 */
export function eventValues(e: StoredEvent): unknown[] {
  const m = e.match;
  const near = e.nearMiss;
  return [
    e.id,
    e.receivedAt,
    e.sourceId,
    e.room,
    e.text,
    e.confidence,
    e.listenMode,
    e.mode,
    e.reason,
    e.target,
    m?.phrase ?? null,
    m?.matchedText ?? null,
    m?.score ?? null,
    m ? Number(m.exact) : null,
    e.sessionId,
    e.sessionChange,
    Number(e.forwarded),
    e.status,
    e.latencyMs,
    e.failure,
    near?.phrase ?? null,
    near?.target ?? null,
    near?.matchedText ?? null,
    near?.score ?? null,
    e.privacy,
    e.reply,
    Number(e.replyTruncated),
    e.frontEnd,
    e.conversationId,
    e.intendedTarget,
    e.detail === null ? null : JSON.stringify(e.detail),
  ];
}

/** One event as a line of the encoded batch. */
export function encodeEvent(e: StoredEvent): string {
  return `${JSON.stringify(eventValues(e))}\n`;
}

/** The events of an encoded batch, with the seqs their rows were given (for the live feed). */
export function decodeEncodedEvents(batch: Uint8Array, seqs: readonly number[]): StoredEvent[] {
  return decodeEvents(batch).map((values, i) => {
    const row = Object.fromEntries(INSERT_COLUMNS.map((column, c) => [column, values[c]]));
    return toEvent({ ...row, seq: seqs[i] ?? 0 } as EventRow);
  });
}

function decodeEvents(batch: Uint8Array): unknown[][] {
  const text = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown[]);
}

/** A stored detail; one another writer mangled reads as none rather than failing the list. */
function parseDetail(raw: string | null): DecisionDetail | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as DecisionDetail;
  } catch {
    return null;
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toEvent(r: EventRow): StoredEvent {
  return {
    seq: r.seq,
    id: r.id,
    receivedAt: r.received_at,
    sourceId: r.source_id,
    room: r.room,
    text: r.text,
    confidence: r.confidence,
    listenMode: r.listen_mode,
    mode: r.mode,
    reason: r.reason,
    target: r.target,
    match:
      r.match_score === null
        ? null
        : {
            phrase: r.match_phrase,
            matchedText: r.match_text,
            score: r.match_score,
            exact: r.match_exact === 1,
          },
    sessionId: r.session_id,
    sessionChange: r.session_change,
    forwarded: r.forwarded === 1,
    status: r.status,
    latencyMs: r.latency_ms,
    failure: r.failure,
    intendedTarget: r.intended_target,
    reply: r.reply,
    replyTruncated: r.reply_truncated === 1,
    frontEnd: r.front_end,
    conversationId: r.conversation_id,
    detail: parseDetail(r.detail),
    nearMiss:
      r.near_target === null || r.near_score === null
        ? null
        : {
            phrase: r.near_phrase,
            target: r.near_target,
            matchedText: r.near_text,
            score: r.near_score,
          },
    privacy: r.privacy === 'metadata' ? 'metadata' : 'full',
  };
}
