/** SessionTable.endIf: a target's end_session ends the conversation it answered, never a newer one. */
import { describe, expect, it } from 'vitest';
import { SessionTable } from '../../src/routing/sessions.js';
import { ManualClock } from '../helpers/app.js';

describe('SessionTable.endIf', () => {
  it('ends the source’s session when it is still the one named', () => {
    const sessions = new SessionTable(25, new ManualClock());
    const s = sessions.open('kitchen', 'astraea', null, 1);
    sessions.open('hall', 'astraea', null, 1);
    expect(sessions.endIf('kitchen', s.id, 'end_session')).toBe(true);
    expect(sessions.live('kitchen')).toBeUndefined();
    expect(sessions.live('hall')).toBeDefined();
  });

  it('leaves a session opened since (another target, or a new conversation) alone', () => {
    const sessions = new SessionTable(25, new ManualClock());
    const old = sessions.open('kitchen', 'astraea', null, 1);
    const newer = sessions.open('kitchen', 'echobell', null, 2);
    expect(sessions.endIf('kitchen', old.id, 'end_session')).toBe(false);
    expect(sessions.live('kitchen')?.id).toBe(newer.id);
  });

  it('ends a session extended since (the same conversation), and says nothing of an expired one', () => {
    const clock = new ManualClock();
    const sessions = new SessionTable(25, clock);
    const s = sessions.open('kitchen', 'astraea', null, 1);
    sessions.extend(s, null, 2);
    expect(sessions.endIf('kitchen', s.id, 'end_session')).toBe(true);
    const t = sessions.open('porch', 'astraea', null, 3);
    clock.advance(26);
    expect(sessions.endIf('porch', t.id, 'end_session')).toBe(false);
  });
});
