/**
 * The decision log's writer on a real SQLite file: batching, retention in bounded steps that let
 * the event loop run between them, a locked database neither blocking nor losing decisions, and
 * the near miss computed against the table that decided.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionLog, type EventSink } from '../../src/routing/decision-log.js';
import type { DecisionRecord } from '../../src/routing/decision-record.js';
import { eventId } from '../../src/routing/event-id.js';
import { compileMatcher } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { openStore, type Store } from '../../src/store/store.js';
import { ManualClock } from '../helpers/app.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

let n = 0;
function record(clock: ManualClock, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    id: `event-${++n}`,
    receivedAt: clock.now(),
    sourceId: 'kitchen',
    room: null,
    frontEnd: 'http',
    conversationId: null,
    text: 'hello there',
    confidence: null,
    listenMode: 'trigger',
    mode: 'idle',
    reason: 'no_trigger_no_session',
    target: null,
    match: null,
    sessionId: null,
    sessionChange: null,
    forwarded: false,
    status: null,
    latencyMs: null,
    failure: null,
    intendedTarget: null,
    reply: null,
    replyTruncated: false,
    detail: null,
    idle: null,
    ...over,
  };
}

const open: (Store | DecisionLog)[] = [];
afterEach(() => {
  for (const o of open.splice(0).reverse()) o.close();
});

function setUp(options: { pruneStep?: number; sink?: (s: Store) => EventSink } = {}) {
  const store = openStore(tempDbPath());
  const clock = new ManualClock();
  const errors: Error[] = [];
  const log = new DecisionLog({
    level: 'full',
    retentionDays: 30,
    maxRows: 100_000,
    sink: options.sink?.(store) ?? store.events,
    clock,
    onError: (err) => errors.push(err),
    ...(options.pruneStep !== undefined && { pruneStep: options.pruneStep }),
  });
  open.push(store, log);
  const count = () => store.events.list({ limit: 500 }).length;
  return { store, clock, log, errors, count };
}

describe('DecisionLog', () => {
  it('writes what is queued in one batch, and everything on close', () => {
    const { store, clock, log } = setUp();
    for (let i = 0; i < 5; i++) log.record(record(clock));
    // Nothing is written on the request path.
    expect(store.events.latestSeq()).toBe(0);
    log.close();
    expect(store.events.latestSeq()).toBe(5);
    log.record(record(clock));
    log.flush();
    expect(store.events.latestSeq()).toBe(5);
  });

  it('prunes expired rows in bounded steps, letting other work run between them', async () => {
    const calls: number[] = [];
    let between = 0;
    const { store, clock, log, count } = setUp({
      pruneStep: 100,
      sink: (s) => ({
        insertEncoded: (batch) => s.events.insertEncoded(batch),
        pruneBeyond: (keep, limit) => s.events.pruneBeyond(keep, limit),
        pruneOlderThan: (cutoff, limit) => {
          const deleted = s.events.pruneOlderThan(cutoff, limit);
          calls.push(deleted);
          // Counts the steps that let the event loop run before the next one.
          setImmediate(() => between++);
          return deleted;
        },
      }),
    });
    for (let i = 0; i < 450; i++) log.record(record(clock));
    log.flush();
    expect(store.events.latestSeq()).toBe(450);
    clock.advance(31 * 86_400);
    log.record(record(clock));
    log.flush();
    await waitFor(() => count() === 1, { what: 'the expired rows to be pruned' });
    expect(Math.max(...calls)).toBe(100);
    expect(calls.filter((c) => c > 0).length).toBeGreaterThanOrEqual(5);
    await waitFor(() => between >= calls.length - 1);
  });

  it('keeps decisions queued while another process holds the write lock, without waiting for it', async () => {
    const { store, clock, log, errors } = setUp();
    const other = new Database(store.path);
    other.exec('BEGIN IMMEDIATE');
    log.record(record(clock, { id: 'while-locked' }));
    const started = performance.now();
    log.flush();
    const took = performance.now() - started;
    expect(errors[0]?.message).toMatch(/locked|busy/i);
    // Far below the 10 s busy timeout the registry's writes wait for.
    expect(took).toBeLessThan(5_000);
    expect(store.events.get('while-locked')).toBeUndefined();
    other.exec('COMMIT');
    other.close();
    await waitFor(() => store.events.get('while-locked'), { what: 'the retried batch' });
  });

  it('keeps the front end, its conversation id, the reply and the fallback’s intended target', () => {
    const { store, clock, log } = setUp();
    log.record(
      record(clock, {
        id: 'from-wyoming',
        frontEnd: 'wyoming',
        conversationId: '01JD8Q3Z5X',
        mode: 'session_open',
        target: 'echobell',
        intendedTarget: 'astraea',
        forwarded: true,
        failure: 'forward_failed:refused',
        reply: 'Echobell here.',
        replyTruncated: true,
      }),
    );
    log.flush();
    expect(store.events.get('from-wyoming')).toMatchObject({
      frontEnd: 'wyoming',
      conversationId: '01JD8Q3Z5X',
      target: 'echobell',
      intendedTarget: 'astraea',
      failure: 'forward_failed:refused',
      reply: 'Echobell here.',
      replyTruncated: true,
    });
  });

  it('computes an idle utterance’s near miss when writing, and none once that table is released', () => {
    const { store, clock, log } = setUp();
    const triggers = compileMatcher([{ phrase: 'hey doorman', target: 'doorman' }]);
    const utterance = prepareUtterance('hey doormat let me in');
    expect(triggers.find(utterance)).toBeNull();
    log.record(record(clock, { id: 'near', idle: { utterance, triggers } }));
    log.flush();
    expect(store.events.get('near')?.nearMiss).toEqual({
      phrase: 'hey doorman',
      target: 'doorman',
      matchedText: 'hey doormat',
      score: expect.closeTo(0.857, 3),
    });
    log.record(record(clock, { id: 'released', idle: { utterance, triggers } }));
    triggers.release();
    log.flush();
    expect(store.events.get('released')?.nearMiss).toBeNull();
  });

  it('keeps arrival order when idle decisions (encoded at flush) sit between others', () => {
    const { store, clock, log } = setUp();
    const triggers = compileMatcher([{ phrase: 'hey doorman', target: 'doorman' }]);
    const utterance = prepareUtterance('hey doormat let me in');
    const ids = ['first', 'idle-1', 'middle', 'idle-2', 'last'];
    for (const id of ids) {
      log.record(
        record(clock, id.startsWith('idle') ? { id, idle: { utterance, triggers } } : { id }),
      );
    }
    log.flush();
    const rows = store.events.list({ limit: 10, after: 0 });
    expect(rows.map((e) => e.id)).toEqual(ids);
    expect(rows[1]?.nearMiss?.phrase).toBe('hey doorman');
    expect(rows[2]?.nearMiss).toBeNull();
  });

  it('drops what it holds, with one warning, once the database has refused writes too long', () => {
    const { store, clock, log, errors } = setUp();
    const other = new Database(store.path);
    other.exec('BEGIN IMMEDIATE');
    try {
      for (let i = 0; i < 20_001; i++) log.record(record(clock));
      log.flush();
      expect(errors.some((e) => /not being written/.test(e.message))).toBe(true);
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    // Writing again afterwards.
    log.record(record(clock, { id: 'after' }));
    errors.length = 0;
    log.flush();
    log.flush();
    expect(store.events.get('after')).toBeDefined();
  });

  it('tells the metrics how many decisions wait and how many it dropped', () => {
    const { store, clock, log } = setUp();
    expect([log.queued, log.dropped]).toEqual([0, 0]);
    for (let i = 0; i < 3; i++) log.record(record(clock));
    expect(log.queued).toBe(3);
    log.flush();
    expect(log.queued).toBe(0);
    const other = new Database(store.path);
    other.exec('BEGIN IMMEDIATE');
    try {
      for (let i = 0; i < 5; i++) log.record(record(clock));
      // Refused: held for a retry, still waiting.
      log.flush();
      expect(log.queued).toBe(5);
      for (let i = 0; i < 20_000; i++) log.record(record(clock));
      // The held batch went to make room.
      expect(log.dropped).toBe(5);
      expect(log.queued).toBe(20_000);
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    log.flush();
    expect(log.queued).toBe(0);
    expect(log.dropped).toBe(5);
  });
});

describe('PhraseMatcher.nearMiss', () => {
  it('finds the best phrase under the floor anywhere in the utterance, and leaves find alone', () => {
    const m = compileMatcher([
      { phrase: 'hey doorman', target: 'doorman' },
      { phrase: 'ok jarvis', target: 'jarvis' },
    ]);
    const u = prepareUtterance('well hey doormat, ok then');
    expect(m.find(u)).toBeNull();
    expect(m.nearMiss(u)).toMatchObject({
      phrase: 'hey doorman',
      matchedText: 'hey doormat',
      exact: false,
    });
    expect(m.nearMiss(prepareUtterance('the weather is nice'))).toBeNull();
    expect(m.find(prepareUtterance('ok jarvis lights'))?.phrase).toBe('ok jarvis');
  });
});

describe('eventId', () => {
  it('is a version 7 UUID whose order follows time, so the log’s id index only appends', () => {
    const ids = [0, 1, 2, 1_000, 86_400_000].map((ms) => eventId(Date.UTC(2026, 0, 1) + ms));
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set([eventId(5), eventId(5), eventId(5)]).size).toBe(3);
  });
});
