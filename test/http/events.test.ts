/**
 * The decision log through the API: a row for every kind of decision with its "why", the list with
 * its cursor and filters, one event, privacy levels, retention, and deleted targets.
 */
import { describe, expect, it } from 'vitest';
import { register, startTestApp, type TestApp } from '../helpers/app.js';
import { recordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { logged, say, type Json } from '../helpers/text.js';
import { waitFor } from '../helpers/wait.js';

let target: RecordingTarget;
let failing: RecordingTarget;

async function appWithTargets(env: Record<string, string> = {}): Promise<TestApp> {
  target ??= await recordingTarget();
  failing ??= await recordingTarget();
  failing.behave({ kind: 'status', status: 500 });
  const t = await startTestApp(env);
  await register(t, 'astraea', target.url, ['hey astraea']);
  await register(t, 'doorman', target.url, ['hey doorman']);
  await register(t, 'broken', failing.url, ['hey broken']);
  return t;
}

/** PUT /state for the whole of Echonet, asked by astraea (the receiver of `active`). */
async function setListenMode(t: TestApp, state: 'inactive' | 'active'): Promise<void> {
  const put = await t.request({
    method: 'PUT',
    url: '/state',
    payload: { target: 'astraea', source: 'test', state },
  });
  expect(put.statusCode, put.body).toBe(200);
}

describe('an event for every decision, with its why', () => {
  it('logs session open, continue, switch and end, a failed forward, and idle with its near miss', async () => {
    const t = await appWithTargets();

    const open = await logged(
      t,
      (await say(t, 'kitchen', 'Hey Astraea, what time is it?')).event_id,
    );
    expect(open).toMatchObject({
      source_id: 'kitchen',
      text: 'Hey Astraea, what time is it?',
      listen_mode: 'trigger',
      mode: 'session_open',
      reason: 'trigger_phrase:hey astraea',
      target: 'astraea',
      match: { phrase: 'hey astraea', matched_text: 'Hey Astraea', score: 1, exact: true },
      session_change: 'opened',
      forwarded: true,
      status: 200,
      failure: null,
      near_miss: null,
      privacy: 'full',
    });
    expect(open.latency_ms).toBeGreaterThanOrEqual(0);
    expect(open.received_at).toBe(new Date(t.clock.now()).toISOString());

    const more = await logged(t, (await say(t, 'kitchen', 'and tomorrow')).event_id);
    expect(more).toMatchObject({
      mode: 'session_continue',
      reason: 'session_active',
      target: 'astraea',
      match: null,
      session_id: open.session_id,
      session_change: 'continued',
      forwarded: true,
    });

    const sw = await logged(t, (await say(t, 'kitchen', 'hey doorman open the gate')).event_id);
    expect(sw).toMatchObject({
      mode: 'session_switch',
      reason: 'trigger_phrase:hey doorman',
      target: 'doorman',
      session_change: 'switched',
    });

    const end = await logged(t, (await say(t, 'kitchen', 'never mind')).event_id);
    expect(end).toMatchObject({
      mode: 'session_end',
      reason: 'cancel',
      target: null,
      session_change: 'ended',
      forwarded: false,
      latency_ms: null,
    });

    const failed = await logged(t, (await say(t, 'hall', 'hey broken lights on')).event_id);
    expect(failed).toMatchObject({
      mode: 'session_open',
      target: 'broken',
      forwarded: false,
      status: 500,
      reason: 'forward_failed:status_500',
      failure: 'forward_failed:status_500',
    });

    // Heard "hey doormat": 0.86, under the 0.88 floor, so nothing woke; the log says how near.
    const idle = await logged(t, (await say(t, 'porch', 'hey doormat open up')).event_id);
    expect(idle).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
      target: null,
      session_id: null,
      session_change: null,
      forwarded: false,
      near_miss: { phrase: 'hey doorman', target: 'doorman', matched_text: 'hey doormat' },
    });
    expect(idle.near_miss.score).toBeCloseTo(0.857, 3);
    expect(idle.near_miss.score).toBeLessThan(t.config.matchMinScore);

    const silence = await logged(t, (await say(t, 'porch', '...')).event_id);
    expect(silence).toMatchObject({ mode: 'idle', reason: 'empty_text', near_miss: null });

    const nothing = await logged(t, (await say(t, 'porch', 'the weather is nice')).event_id);
    expect(nothing).toMatchObject({ mode: 'idle', near_miss: null });
  });

  it('logs what the inactive listen mode refused, without the words (it is the privacy mode)', async () => {
    const t = await appWithTargets();
    await setListenMode(t, 'inactive');
    const muted = await logged(t, (await say(t, 'kitchen', 'hey astraea my pin is 1234')).event_id);
    expect(muted).toMatchObject({
      listen_mode: 'inactive',
      mode: 'idle',
      reason: 'listen_mode_inactive',
      target: null,
      forwarded: false,
      match: null,
    });
    expect(muted.text ?? '').toBe('');
    expect(target.received.some((r) => JSON.stringify(r).includes('1234'))).toBe(false);
  });

  it('logs what the active listen mode delivered without a wake phrase, and lists it by its mode', async () => {
    const t = await appWithTargets();
    await setListenMode(t, 'active');
    const id = (await say(t, 'kitchen', 'yes, at seven')).event_id;
    const once = await logged(t, id);
    expect(once).toMatchObject({
      text: 'yes, at seven',
      listen_mode: 'active',
      mode: 'dispatch_once',
      reason: 'listen_mode_active',
      target: 'astraea',
      match: null,
      session_id: null,
      session_change: null,
      forwarded: true,
      status: 200,
      failure: null,
    });
    // Delivered once: the mode went back to trigger, so the next utterance meets trigger.
    const after = await logged(t, (await say(t, 'kitchen', 'and at eight')).event_id);
    expect(after).toMatchObject({ listen_mode: 'trigger', mode: 'idle', target: null });

    const res = await t.request({ method: 'GET', url: '/events?mode=dispatch_once' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().events.map((e: Json) => e.id)).toEqual([id]);
  });
});

describe('GET /events', () => {
  it('lists newest first, pages with the cursor, and filters', async () => {
    const t = await appWithTargets();
    const ids: string[] = [];
    for (const [source, text] of [
      ['kitchen', 'hey astraea lights'],
      ['porch', 'hello there'],
      ['kitchen', 'never mind'],
      ['porch', 'hey doorman who is it'],
      ['kitchen', 'what about 100% of it_'],
    ] as const) {
      ids.push((await say(t, source, text)).event_id);
    }
    await logged(t, ids[4]!);

    const first = (await t.request({ method: 'GET', url: '/events?limit=2' })).json();
    expect(first.count).toBe(2);
    expect(first.events.map((e: Json) => e.id)).toEqual([ids[4], ids[3]]);
    expect(first.next_before).toBe(first.events[1].seq);
    const second = (
      await t.request({ method: 'GET', url: `/events?limit=2&before=${first.next_before}` })
    ).json();
    expect(second.events.map((e: Json) => e.id)).toEqual([ids[2], ids[1]]);
    const last = (
      await t.request({ method: 'GET', url: `/events?limit=2&before=${second.next_before}` })
    ).json();
    expect(last.events.map((e: Json) => e.id)).toEqual([ids[0]]);
    expect(last.next_before).toBeNull();

    const ofPorch = (await t.request({ method: 'GET', url: '/events?source_id=porch' })).json();
    expect(ofPorch.events.map((e: Json) => e.id)).toEqual([ids[3], ids[1]]);
    const toDoorman = (await t.request({ method: 'GET', url: '/events?target=doorman' })).json();
    expect(toDoorman.events.map((e: Json) => e.id)).toEqual([ids[3]]);
    const ends = (await t.request({ method: 'GET', url: '/events?mode=session_end' })).json();
    expect(ends.events.map((e: Json) => e.id)).toEqual([ids[2]]);
    const heard = (await t.request({ method: 'GET', url: '/events?q=LIGHTS' })).json();
    expect(heard.events.map((e: Json) => e.id)).toEqual([ids[0]]);
    // LIKE's wildcards are searched for literally.
    const literal = (await t.request({ method: 'GET', url: '/events?q=0%25%20of%20it_' })).json();
    expect(literal.events.map((e: Json) => e.id)).toEqual([ids[4]]);
    const none = (await t.request({ method: 'GET', url: '/events?q=%25' })).json();
    expect(none.events.map((e: Json) => e.id)).toEqual([ids[4]]);
  });

  it.each([
    ['/events?limit=0', 'limit must be an integer from 1 to 500'],
    ['/events?limit=501', 'limit must be an integer from 1 to 500'],
    ['/events?limit=ten', 'limit must be an integer from 1 to 500'],
    ['/events?before=abc', 'before must be a cursor (a positive integer from next_before)'],
    [
      '/events?mode=asleep',
      'mode must be one of idle, session_open, session_switch, session_continue, session_end, dispatch_once',
    ],
    [
      '/events/stream?mode=asleep',
      'mode must be one of idle, session_open, session_switch, session_continue, session_end, dispatch_once',
    ],
  ])('%s is a 400 naming the field', async (url, error) => {
    const t = await startTestApp();
    const res = await t.request({ method: 'GET', url });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ ok: false, error, detail: error });
  });

  it('answers 404 for an unknown event id, and needs the API key', async () => {
    const t = await startTestApp();
    const res = await t.request({ method: 'GET', url: '/events/no-such-id' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/^no event with id 'no-such-id'/);
    for (const url of ['/events', '/events/x']) {
      const anon = await t.app.inject({ method: 'GET', url });
      expect(anon.statusCode).toBe(401);
      // ?key= is for the stream only.
      const viaQuery = await t.app.inject({ method: 'GET', url: `${url}?key=${t.config.apiKey}` });
      expect(viaQuery.statusCode).toBe(401);
    }
  });

  it('keeps the events of a target deleted since', async () => {
    const t = await appWithTargets({ ECHONET_ADMIN_KEY: 'admin-key-0123456789abcdef-0123' });
    const id = (await say(t, 'porch', 'hey doorman who is there')).event_id;
    await logged(t, id);
    const del = await t.request({ method: 'DELETE', url: '/targets/doorman' });
    expect(del.statusCode).toBe(200);
    const list = (await t.request({ method: 'GET', url: '/events?target=doorman' })).json();
    expect(list.events.map((e: Json) => e.id)).toEqual([id]);
    expect((await logged(t, id)).target).toBe('doorman');
  });
});

describe('ECHONET_EVENT_LOG', () => {
  it('metadata keeps every decision without the words heard', async () => {
    const t = await appWithTargets({ ECHONET_EVENT_LOG: 'metadata' });
    const open = await logged(t, (await say(t, 'kitchen', 'hey astraea secret plans')).event_id);
    expect(open).toMatchObject({
      text: null,
      mode: 'session_open',
      reason: 'trigger_phrase',
      target: 'astraea',
      match: { phrase: null, matched_text: null, score: 1, exact: true },
      privacy: 'metadata',
      forwarded: true,
    });
    const idle = await logged(t, (await say(t, 'porch', 'hey doormat private words')).event_id);
    expect(idle.text).toBeNull();
    expect(idle.near_miss).toMatchObject({ phrase: null, target: 'doorman', matched_text: null });
    expect(idle.near_miss.score).toBeCloseTo(0.857, 3);
    // Nothing spoken is anywhere in the file's rows.
    const q = (await t.request({ method: 'GET', url: '/events?q=secret' })).json();
    expect(q.count).toBe(0);
    await t.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(t.config.dbPath, { readonly: true });
    const rows = JSON.stringify(db.prepare('SELECT * FROM events').all());
    db.close();
    expect(rows).not.toMatch(/secret|plans|private|doormat|hey astraea|hey doorman/i);
  });

  it('off keeps nothing (and still answers with an event_id)', async () => {
    const t = await appWithTargets({ ECHONET_EVENT_LOG: 'off' });
    const answer = await say(t, 'kitchen', 'hey astraea anything');
    expect(answer.event_id).toEqual(expect.any(String));
    await say(t, 'porch', 'hello');
    await t.close(); // flushes whatever the log held
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(t.config.dbPath, { readonly: true });
    const count = db.prepare('SELECT COUNT(*) FROM events').pluck().get();
    db.close();
    expect(count).toBe(0);
  });

  it('full is the default and keeps what was heard', async () => {
    const t = await appWithTargets();
    expect(t.config.eventLog).toBe('full');
    const e = await logged(t, (await say(t, 'kitchen', 'hey astraea hello')).event_id);
    expect(e).toMatchObject({ text: 'hey astraea hello', privacy: 'full' });
  });
});

describe('retention', () => {
  it('deletes events older than ECHONET_EVENT_RETENTION_DAYS', async () => {
    const t = await appWithTargets({ ECHONET_EVENT_RETENTION_DAYS: '2' });
    const old = (await say(t, 'kitchen', 'an old remark')).event_id;
    await logged(t, old);
    t.clock.advance(86_400); // one day: still kept
    const kept = (await say(t, 'kitchen', 'a newer remark')).event_id;
    await logged(t, kept);
    expect((await t.request({ method: 'GET', url: `/events/${old}` })).statusCode).toBe(200);
    t.clock.advance(86_400 + 1); // the first is now more than two days old
    const latest = (await say(t, 'kitchen', 'the latest remark')).event_id;
    await logged(t, latest);
    await waitFor(
      async () => (await t.request({ method: 'GET', url: `/events/${old}` })).statusCode === 404,
      { what: 'the expired event to be pruned' },
    );
    const ids = (await t.request({ method: 'GET', url: '/events' }))
      .json()
      .events.map((e: Json) => e.id);
    expect(ids).toEqual([latest, kept]);
  });

  it('keeps at most ECHONET_EVENT_MAX_ROWS, the newest', async () => {
    const t = await appWithTargets({ ECHONET_EVENT_MAX_ROWS: '3' });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await say(t, 'kitchen', `remark ${i}`)).event_id);
    await logged(t, ids[6]!);
    await waitFor(
      async () => (await t.request({ method: 'GET', url: '/events' })).json().count === 3,
      { what: 'the log to shrink to 3 rows' },
    );
    const list = (await t.request({ method: 'GET', url: '/events' })).json();
    expect(list.events.map((e: Json) => e.id)).toEqual([ids[6], ids[5], ids[4]]);
  });

  it('still applies with the log off, to rows logged before it was turned off', async () => {
    const before = await appWithTargets();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await say(before, 'kitchen', `remark ${i}`)).event_id);
    await logged(before, ids[4]!);
    await before.close();
    // The same file, the log now off (as `echonet serve` runs it: no writer thread, the deletes
    // on the store's connection) and a smaller cap: the oldest go at start-up.
    const t = await startTestApp(
      { ECHONET_EVENT_LOG: 'off', ECHONET_EVENT_MAX_ROWS: '2' },
      { dbPath: before.config.dbPath },
    );
    await waitFor(
      async () => (await t.request({ method: 'GET', url: '/events' })).json().count === 2,
      { what: 'the log to shrink to 2 rows' },
    );
    const list = (await t.request({ method: 'GET', url: '/events' })).json();
    expect(list.events.map((e: Json) => e.id)).toEqual([ids[4], ids[3]]);
  });
});
