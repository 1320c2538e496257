/**
 * `echonet events [--follow] [--source S] [--json]`: the decision log, read straight from the
 * database (no server address or key needed, and it works while the server is down). One line per
 * decision, oldest of the page first, so the newest is nearest the prompt; `--follow` then prints
 * each new decision as the server writes it. `--json` prints one JSON object per line.
 */
import { StorageError } from '../errors.js';
import { eventView } from '../routing/event-view.js';
import {
  MAX_EVENT_LIMIT,
  eventReaderIfPresent,
  type EventReader,
  type StoredEvent,
} from '../store/events.js';
import { openReadOnly } from '../store/store.js';
import type { Output } from './output.js';

export interface EventsOptions {
  readonly follow?: boolean;
  readonly source?: string;
  readonly json?: boolean;
  /** How many past decisions to print first (default 20). */
  readonly limit?: number;
  /** How often --follow looks for new rows (default 250 ms). */
  readonly pollMs?: number;
  /** Ends --follow (tests; the command itself runs until interrupted). */
  readonly signal?: AbortSignal;
}

export const DEFAULT_CLI_EVENTS = 20;

export async function showEvents(dbPath: string, io: Output, options: EventsOptions = {}) {
  const store = openReadOnly(dbPath);
  try {
    const reader = eventReaderIfPresent(store.db);
    if (!reader) {
      throw new StorageError(
        `database ${dbPath} has no decision log yet (schema version ${store.version}); start the server once to upgrade it`,
      );
    }
    const print = (e: StoredEvent) => io.out(options.json ? JSON.stringify(eventView(e)) : line(e));
    const limit = Math.min(options.limit ?? DEFAULT_CLI_EVENTS, MAX_EVENT_LIMIT);
    const past = reader.list({ limit, sourceId: options.source }).reverse();
    if (!options.json) io.out(HEADER);
    past.forEach(print);
    if (!options.follow) {
      if (past.length === 0 && !options.json) io.out('(no decisions logged yet)');
      return;
    }
    await follow(reader, past.at(-1)?.seq ?? reader.latestSeq(), print, options);
  } finally {
    store.close();
  }
}

async function follow(
  reader: EventReader,
  from: number,
  print: (e: StoredEvent) => void,
  options: EventsOptions,
): Promise<void> {
  let last = from;
  const pollMs = options.pollMs ?? 250;
  while (!options.signal?.aborted) {
    for (;;) {
      const batch = reader.list({ limit: MAX_EVENT_LIMIT, after: last, sourceId: options.source });
      batch.forEach(print);
      if (batch.length === 0) break;
      last = batch[batch.length - 1]!.seq;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const HEADER = `${'time (UTC)'.padEnd(19)}  ${'source'.padEnd(12)}  ${'mode'.padEnd(16)}  ${'target'.padEnd(12)}  why`;

/** One decision on one line: when, who, what happened, why, and what was heard. */
export function line(e: StoredEvent): string {
  const time = new Date(e.receivedAt).toISOString().slice(0, 19).replace('T', ' ');
  const why = [e.reason];
  if (e.nearMiss) {
    const what = e.nearMiss.phrase === null ? e.nearMiss.target : `'${e.nearMiss.phrase}'`;
    why.push(`(nearest ${what} at ${e.nearMiss.score.toFixed(2)})`);
  } else if (e.match && !e.match.exact) {
    why.push(`(score ${e.match.score.toFixed(2)})`);
  }
  if (e.intendedTarget !== null) why.push(`(meant for ${e.intendedTarget})`);
  const rooms = e.detail;
  if (rooms !== null && 'arbitration' in rooms) {
    const a = rooms.arbitration;
    why.push(
      a.winner === e.sourceId
        ? `(won over ${a.contenders.length - 1} in ${a.room})`
        : `(${a.winner} won)`,
    );
  } else if (rooms !== null && 'echo' in rooms) {
    why.push(`(similarity ${rooms.echo.similarity.toFixed(2)})`);
  }
  if (e.forwarded && e.status !== null) why.push(`→ ${e.status}`);
  if (e.replyTruncated) why.push('(reply cut)');
  if (e.latencyMs !== null) why.push(`${Math.round(e.latencyMs)} ms`);
  const heard = e.text === null ? '' : `  "${printable(e.text)}"`;
  return (
    `${time}  ${cell(e.sourceId, 12)}  ${cell(e.mode, 16)}  ${cell(e.target ?? '-', 12)}  ` +
    `${printable(why.join(' '))}${heard}`
  );
}

function cell(text: string, width: number): string {
  const t = printable(text);
  return t.length > width ? `${t.slice(0, width - 1)}…` : t.padEnd(width);
}

/** Control characters (a transcript or a source id could hold escape sequences) shown as `?`. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}
