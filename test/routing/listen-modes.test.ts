/**
 * ListenModes on a real database, and the listen mode in the text handler's decision records
 * (with a real forwarder and a real target).
 */
import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/clock.js';
import type { DecisionRecord } from '../../src/routing/decision-record.js';
import { createForwarder } from '../../src/delivery/forwarder.js';
import { ListenModes, targetOfSource } from '../../src/routing/listen-modes.js';
import { buildRoutingTable } from '../../src/routing/routing-table.js';
import { inlineTableBuilder } from '../../src/routing/table-builder.js';
import { TextHandler } from '../../src/routing/text-handler.js';
import { openStore, type Store } from '../../src/store/store.js';
import { ManualClock } from '../helpers/app.js';
import { afterFile } from '../helpers/cleanup.js';
import { recordingTarget } from '../helpers/recording-target.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir();

function store(): Store {
  const s = openStore(tempDbPath(dir));
  afterFile(() => s.close());
  return s;
}

function modes(s: Store, clock: Clock = new ManualClock(), timeoutS = 30) {
  const m = new ListenModes(s.settings, { clock, activeTimeoutS: () => timeoutS });
  afterFile(() => m.close());
  return m;
}

describe('ListenModes', () => {
  it('reads the target of an active mode another process set from its log row', () => {
    const s = store();
    s.settings.set('listen_mode:porch', 'active', { source: 'doorbell:Astraea', reason: null });
    const m = modes(s);
    expect(m.for('porch').state).toMatchObject({ mode: 'active', target: 'astraea' });
    expect(m.for('kitchen')).toMatchObject({ sourceId: null, state: { mode: 'trigger' } });
  });

  it('routes a mode value no service writes as trigger', () => {
    const s = store();
    s.settings.set('listen_mode', 'listening', { source: 'by hand', reason: null });
    expect(modes(s).for('kitchen').state.mode).toBe('trigger');
  });

  it('takes the timeout live: a shorter one applies to an active mode already set', () => {
    const s = store();
    const clock = new ManualClock();
    let timeoutS = 30;
    const m = new ListenModes(s.settings, { clock, activeTimeoutS: () => timeoutS });
    afterFile(() => m.close());
    m.set({ mode: 'active', target: 'astraea', source: 'api:astraea', reason: null });
    clock.advance(10);
    expect(m.for('x').state.mode).toBe('active');
    timeoutS = 5;
    expect(m.for('x').state.mode).toBe('trigger');
  });

  it('writes the end of an active mode when its time is up even if nothing reads it', async () => {
    const s = store();
    const m = modes(s, systemClock, 0.05);
    m.set({ mode: 'active', target: 'astraea', source: 'api:astraea', reason: null });
    // Only the one timer can write this row: nothing here reads the modes.
    await waitFor(() => s.settings.get('listen_mode')?.value === 'trigger', {
      what: 'the active timeout to be stored',
    });
    expect(s.settings.history({ limit: 1 })[0]).toMatchObject({ source: 'active_timeout' });
  });

  it('resets in memory when the database refuses the write: never stuck in active', () => {
    const s = openStore(tempDbPath(dir));
    const errors: unknown[] = [];
    const clock = new ManualClock();
    const m = new ListenModes(s.settings, {
      clock,
      activeTimeoutS: () => 30,
      onError: (err) => errors.push(err),
    });
    m.set({ mode: 'active', target: 'astraea', source: 'api:astraea', reason: null });
    s.close();
    clock.advance(30);
    expect(m.for('x').state.mode).toBe('trigger');
    expect(errors).toHaveLength(1);
    m.close();
  });

  it.each([
    ['llm:astraea', 'astraea'],
    ['a:b:Peter', 'peter'],
    ['api', null],
    ['api:', null],
    [null, null],
  ])('reads the target of source %j as %j', (source, target) => {
    expect(targetOfSource(source)).toBe(target);
  });
});

describe('decision records', () => {
  it('carry the listen mode each utterance met', async () => {
    const target = await recordingTarget();
    const s = store();
    const clock = new ManualClock();
    const m = modes(s, clock);
    const match = { fuzzy: false, minScore: 1 };
    const load = () => [{ name: 'astraea', baseUrl: target.url, phrases: ['hey astraea'] }];
    const forwarder = createForwarder({ timeoutMs: 30_000 });
    afterFile(() => forwarder.close());
    const records: DecisionRecord[] = [];
    const handler = new TextHandler(
      buildRoutingTable(load(), match),
      inlineTableBuilder(load, match),
      {
        sessionTimeoutS: 25,
        cancelPhrases: ['cancel'],
        stripTrigger: true,
        match,
        clock,
        forwarder,
        listenModes: m,
        onDecision: (r) => records.push(r),
      },
    );
    afterFile(() => handler.close());

    await handler.handle({ source_id: 'a', text: 'hello' });
    m.set({ mode: 'active', target: 'astraea', source: 'api:astraea', reason: null });
    await handler.handle({ source_id: 'a', text: 'the answer is yes' });
    m.set({ mode: 'inactive', target: 'astraea', source: 'api:astraea', reason: null });
    await handler.handle({ source_id: 'a', text: 'hey astraea hi' });

    expect(records.map((r) => [r.listenMode, r.mode, r.reason, r.forwarded])).toEqual([
      ['trigger', 'idle', 'no_trigger_no_session', false],
      ['active', 'dispatch_once', 'listen_mode_active', true],
      ['inactive', 'idle', 'listen_mode_inactive', false],
    ]);
    expect(records[1]).toMatchObject({ target: 'astraea', sessionId: null, status: 200 });
    expect(records[2]).toMatchObject({ idle: null, match: null, sessionChange: null });
    expect(target.received).toHaveLength(1);
  });
});
