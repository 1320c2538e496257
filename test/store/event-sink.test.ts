/**
 * The decision log written from its worker thread (dist/event-worker.mjs, which `npm test` builds
 * first), as `echonet serve` does: rows land, retention runs there, and the worker's commits to the
 * file never make the server rebuild its routing table, while another writer's target change does.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { inlineTableBuilder } from '../../src/routing/table-builder.js';
import { WorkerEventSink } from '../../src/store/event-sink.js';
import { encodeEvent, type StoredEvent } from '../../src/store/events.js';
import { openStore } from '../../src/store/store.js';
import { register, startTestApp } from '../helpers/app.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const WORKER = new URL('../../dist/event-worker.mjs', import.meta.url);

/** A batch as the decision log hands it over. */
const encoded = (...events: StoredEvent[]) => Buffer.from(events.map(encodeEvent).join(''));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function event(id: string, receivedAt: number): StoredEvent {
  return {
    seq: 0,
    id,
    receivedAt,
    sourceId: 'kitchen',
    room: null,
    text: 'hey astraea lights',
    confidence: null,
    listenMode: 'trigger',
    mode: 'session_open',
    reason: 'trigger_phrase:hey astraea',
    target: 'astraea',
    match: { phrase: 'hey astraea', matchedText: 'hey astraea', score: 1, exact: true },
    sessionId: 's1',
    sessionChange: 'opened',
    forwarded: true,
    status: 200,
    latencyMs: 1.5,
    failure: null,
    nearMiss: null,
    privacy: 'full',
    reply: null,
    replyTruncated: false,
    frontEnd: 'http',
    conversationId: null,
    intendedTarget: null,
    detail: null,
  };
}

describe('WorkerEventSink', () => {
  it('writes batches in order, prunes, and closes its connection', async () => {
    const store = openStore(tempDbPath());
    cleanup.push(() => store.close());
    const sink = new WorkerEventSink({ workerUrl: WORKER, dbPath: store.path });
    cleanup.push(() => sink.close());
    const first = await sink.insertEncoded(encoded(event('a', 1_000), event('b', 2_000)));
    const second = await sink.insertEncoded(encoded(event('c', 3_000)));
    expect([...first, ...second]).toEqual([1, 2, 3]);
    expect(store.events.get('b')).toMatchObject({ seq: 2, target: 'astraea', forwarded: true });
    expect(await sink.pruneOlderThan(2_500, 1_000)).toBe(2);
    expect(await sink.pruneBeyond(0, 1_000)).toBe(1);
    expect(store.events.list({ limit: 10 })).toEqual([]);
    expect(store.events.get('c')).toBeUndefined();
    await sink.close();
    await expect(sink.insertEncoded(encoded(event('d', 4_000)))).rejects.toThrow(/closed/);
  });

  it('fails what a dead worker was asked, and starts another for the next batch', async () => {
    const store = openStore(tempDbPath());
    cleanup.push(() => store.close());
    const path = store.path;
    const sink = new WorkerEventSink({ workerUrl: WORKER, dbPath: path });
    cleanup.push(() => sink.close());
    // A batch the worker cannot write (a duplicate id) is refused, and nothing of it is written.
    await expect(sink.insertEncoded(encoded(event('x', 1), event('x', 2)))).rejects.toThrow(
      /UNIQUE/,
    );
    expect(store.events.get('x')).toBeUndefined();
    expect(await sink.insertEncoded(encoded(event('y', 3)))).toHaveLength(1);
  });
});

describe('a server logging through the worker', () => {
  it('logs every decision, and rebuilds routing only for target changes', async () => {
    const target = await startRecordingTarget();
    cleanup.push(() => target.close());
    let builds = 0;
    const t = await startTestApp(
      {},
      {
        dbPath: tempDbPath(),
        tableBuilder: (store) => {
          const inline = inlineTableBuilder(() => store.targets.snapshot(), DEFAULT_MATCH_OPTIONS);
          return {
            build: () => {
              builds++;
              return inline.build();
            },
            close: () => inline.close(),
          };
        },
        eventSink: (store) => new WorkerEventSink({ workerUrl: WORKER, dbPath: store.path }),
      },
    );
    cleanup.push(() => t.close());
    await register(t, 'astraea', target.url, ['hey astraea']);
    await waitFor(() => builds === 2, { what: 'the table with astraea' });

    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await t.request({
        method: 'POST',
        url: '/text',
        payload: { source_id: `mic-${i % 3}`, text: i % 2 ? 'hey astraea hello' : 'and then' },
      });
      ids.push(res.json<{ event_id: string }>().event_id);
    }
    await waitFor(() => ids.every((id) => t.store.events.get(id)), {
      what: 'every decision written by the worker',
    });

    // A foreign settings change is a sentinel: once the server shows it, its watch has run after
    // the worker's commits, and found no target change in them.
    const other = new Database(t.config.dbPath);
    cleanup.push(() => other.close());
    other.exec("UPDATE settings SET value = 'inactive' WHERE name = 'listen_mode'");
    await waitFor(
      async () =>
        (await t.request({ method: 'GET', url: '/state' })).json<{ listen_mode: string }>()
          .listen_mode === 'inactive',
      { what: 'the server to read the foreign listen mode' },
    );
    expect(builds).toBe(2);

    other
      .prepare('INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)')
      .run('echobell', target.url, '["hey echobell"]');
    await waitFor(() => builds === 3, { what: 'a rebuild for the foreign target' });
  });
});
