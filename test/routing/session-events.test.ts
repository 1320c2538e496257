/**
 * SessionTable's announcements: every session started is ended exactly once, with its reason,
 * expiry included even when nobody reads the table again, with one timer for all of them.
 */
import { describe, expect, it } from 'vitest';
import { SessionTable, type SessionEvent } from '../../src/routing/sessions.js';
import { ManualClock } from '../helpers/app.js';

/** A table on a manual clock (25 s sessions) and the events it announced, as short strings. */
function table(timeoutS = 25) {
  const clock = new ManualClock();
  const events: SessionEvent[] = [];
  const sessions = new SessionTable(timeoutS, clock, { onSession: (e) => events.push(e) });
  const said = () =>
    events.map((e) =>
      e.kind === 'started'
        ? `started ${e.session.sourceId}>${e.session.target} via ${e.frontEnd}`
        : `ended ${e.session.sourceId}>${e.session.target} ${e.reason}`,
    );
  return { clock, sessions, events, said };
}

describe('SessionTable events', () => {
  it('announces a session opening, with the front end that opened it', () => {
    const { sessions, events, said } = table();
    const s = sessions.open('kitchen', 'astraea', 'kitchen', 1, 'wyoming');
    expect(s.frontEnd).toBe('wyoming');
    expect(said()).toEqual(['started kitchen>astraea via wyoming']);
    expect(events[0]?.session).toBe(s);
  });

  it('ends the old conversation (switched) before the new one starts', () => {
    const { sessions, said } = table();
    sessions.open('kitchen', 'astraea', null, 1, 'mqtt');
    sessions.open('kitchen', 'echobell', null, 2, 'mqtt');
    expect(said()).toEqual([
      'started kitchen>astraea via mqtt',
      'ended kitchen>astraea switched',
      'started kitchen>echobell via mqtt',
    ]);
  });

  it('says each way of ending with its reason, the ended event naming the opener’s front end', () => {
    const { sessions, events, said } = table();
    const a = sessions.open('a', 't', null, 1, 'mqtt');
    sessions.open('b', 't', null, 1);
    sessions.open('c', 't', null, 1);
    sessions.open('d', 'gone', null, 1);
    sessions.open('e', 'gone', null, 1);
    expect(sessions.endIf('a', a.id, 'end_session')).toBe(true);
    expect(sessions.end('b', 'cancel')).toBe(true);
    expect(sessions.end('c', 'api')).toBe(true);
    expect(sessions.endWhere((s) => s.target === 'gone', 'unregistered')).toBe(2);
    const f = sessions.open('f', 't', null, 1);
    expect(sessions.endIf('f', f.id, 'failed')).toBe(true);
    expect(said().filter((line) => line.startsWith('ended'))).toEqual([
      'ended a>t end_session',
      'ended b>t cancel',
      'ended c>t api',
      'ended d>gone unregistered',
      'ended e>gone unregistered',
      'ended f>t failed',
    ]);
    const endedA = events.find((e) => e.kind === 'ended' && e.session.sourceId === 'a');
    expect(endedA?.frontEnd).toBe('mqtt');
  });

  it('says nothing when there was nothing to end', () => {
    const { sessions, said } = table();
    expect(sessions.end('nobody', 'api')).toBe(false);
    const s = sessions.open('kitchen', 'astraea', null, 1);
    sessions.open('kitchen', 'echobell', null, 2);
    expect(sessions.endIf('kitchen', s.id, 'end_session')).toBe(false);
    expect(said().filter((line) => line.startsWith('ended'))).toEqual([
      'ended kitchen>astraea switched',
    ]);
  });

  it('announces expiry when nobody speaks again (the timer), exactly once', () => {
    const { clock, sessions, said } = table();
    sessions.open('kitchen', 'astraea', null, 1);
    clock.advance(24.9);
    expect(said()).toEqual(['started kitchen>astraea via http']);
    clock.advance(0.1);
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea timeout']);
    // Reads afterwards find nothing and say nothing more.
    expect(sessions.live('kitchen')).toBeUndefined();
    expect(sessions.list()).toEqual([]);
    clock.advance(100);
    expect(said()).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('announces a session read after its expiry (before the timer fired) once, not again when the timer fires', () => {
    const { clock, sessions, said } = table();
    sessions.open('kitchen', 'astraea', null, 1);
    // The clock moves without firing timers, as a real one may run ahead of a busy event loop.
    clock.ms += 30_000;
    expect(sessions.live('kitchen')).toBeUndefined();
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea timeout']);
    clock.advance(0);
    expect(said()).toHaveLength(2);
  });

  it('never uses an expired session, even before the timer fired', () => {
    const { clock, sessions } = table();
    sessions.open('kitchen', 'astraea', null, 1);
    clock.ms += 25_000;
    expect(sessions.live('kitchen')).toBeUndefined();
  });

  it('does not announce a session extended before its expiry; it times out a full timeout after', () => {
    const { clock, sessions, said } = table();
    const s = sessions.open('kitchen', 'astraea', null, 1);
    clock.advance(20);
    sessions.extend(s, null, 2);
    clock.advance(20);
    expect(said()).toEqual(['started kitchen>astraea via http']);
    expect(sessions.live('kitchen')?.id).toBe(s.id);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5);
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea timeout']);
  });

  it('keeps one timer for many sessions, armed for the earliest expiry', () => {
    const { clock, sessions, said } = table();
    for (let i = 0; i < 1000; i++) {
      sessions.open(`mic-${i}`, 'astraea', null, 1);
      clock.advance(0.001);
    }
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10);
    // Extending every other one touches no timer.
    for (let i = 0; i < 1000; i += 2) {
      const s = sessions.live(`mic-${i}`);
      if (s) sessions.extend(s, null, 2);
    }
    expect(clock.pendingTimers).toBe(1);
    clock.advance(15);
    const ended = said().filter((line) => line.startsWith('ended'));
    expect(ended).toHaveLength(500);
    expect(ended.every((line) => line.endsWith('timeout'))).toBe(true);
    expect(sessions.list()).toHaveLength(500);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10);
    expect(said().filter((line) => line.startsWith('ended'))).toHaveLength(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('queues a source once however often it opens or extends, so memory stays bounded', () => {
    const { clock, sessions } = table();
    for (let i = 0; i < 1000; i++) {
      const s = sessions.open('kitchen', i % 2 ? 'astraea' : 'echobell', null, i);
      sessions.extend(s, null, i);
      sessions.open('hall', 'astraea', null, i);
      sessions.end('hall', 'cancel');
      clock.advance(0.01);
    }
    expect(sessions.queued).toBe(2);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(25);
    expect(sessions.queued).toBe(0);
    expect(sessions.list()).toEqual([]);
  });

  it('re-arms earlier when a shorter timeout brings an expiry forward', () => {
    const { clock, sessions, said } = table(60);
    sessions.open('porch', 'astraea', null, 1);
    sessions.setTimeout(5);
    const s = sessions.open('kitchen', 'astraea', null, 1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5);
    expect(said()).toContain('ended kitchen>astraea timeout');
    expect(said()).not.toContain('ended porch>astraea timeout');
    // An extension under the shorter timeout is announced at its own, earlier, expiry.
    const porch = sessions.live('porch');
    expect(porch).toBeDefined();
    sessions.extend(porch as NonNullable<typeof porch>, null, 2);
    clock.advance(5);
    expect(said()).toContain('ended porch>astraea timeout');
    expect(s.expiresAt).toBeLessThan(clock.now());
  });

  it('announces a session ended and its successor started, each once, whatever the order of reads', () => {
    const { clock, sessions, events } = table();
    const first = sessions.open('kitchen', 'astraea', null, 1);
    clock.ms += 26_000;
    const second = sessions.open('kitchen', 'astraea', null, 2);
    clock.advance(30);
    const byId = (id: string) => events.filter((e) => e.session.id === id).map((e) => e.kind);
    expect(byId(first.id)).toEqual(['started', 'ended']);
    expect(byId(second.id)).toEqual(['started', 'ended']);
    const firstEnd = events.find((e) => e.kind === 'ended' && e.session.id === first.id);
    expect(firstEnd?.kind === 'ended' && firstEnd.reason).toBe('timeout');
  });

  it('lets front ends listen (and stop), and keeps going when a listener throws', () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const sessions = new SessionTable(25, clock, {
      onSession: () => {
        throw new Error('listener bug');
      },
      onListenerError: (err) => errors.push(err),
    });
    const heard: string[] = [];
    const stop = sessions.listen((e) => heard.push(e.kind));
    sessions.open('kitchen', 'astraea', null, 1);
    clock.advance(25);
    expect(heard).toEqual(['started', 'ended']);
    expect(errors).toHaveLength(2);
    stop();
    sessions.open('kitchen', 'astraea', null, 1);
    expect(heard).toEqual(['started', 'ended']);
  });

  it('stops its timer when closed', () => {
    const { clock, sessions } = table();
    sessions.open('kitchen', 'astraea', null, 1);
    expect(clock.pendingTimers).toBe(1);
    sessions.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
