/**
 * Names and default targets in the text handler, with a real forwarder and real targets: names
 * wake per front end (ECHONET_MATCH_NAMES), the default target takes what would have been idle
 * (the input's own default first), an unregistered default is warned about once.
 */
import { describe, expect, it } from 'vitest';
import { createForwarder } from '../../src/delivery/forwarder.js';
import type { DecisionRecord } from '../../src/routing/decision-record.js';
import { ListenModes } from '../../src/routing/listen-modes.js';
import type { MatchNames } from '../../src/routing/name-rules.js';
import { buildRoutingTable, type RouteTarget } from '../../src/routing/routing-table.js';
import { inlineTableBuilder } from '../../src/routing/table-builder.js';
import { TextHandler, type TextInput } from '../../src/routing/text-handler.js';
import { openStore } from '../../src/store/store.js';
import { ManualClock } from '../helpers/app.js';
import { afterFile } from '../helpers/cleanup.js';
import { recordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath } from '../helpers/temp.js';

const match = { fuzzy: true, minScore: 0.88 };

interface Setup {
  readonly handler: TextHandler;
  readonly astraea: RecordingTarget;
  readonly echobell: RecordingTarget;
  readonly registry: RouteTarget[];
  readonly records: DecisionRecord[];
  readonly warnings: string[];
  readonly modes: ListenModes;
  say(text: string, more?: Partial<TextInput>): ReturnType<TextHandler['handle']>;
  reconfigure(rules: { matchNames?: MatchNames; defaultTarget?: string }): void;
}

async function setup(rules: { matchNames?: MatchNames; defaultTarget?: string } = {}) {
  const astraea = await recordingTarget();
  const echobell = await recordingTarget();
  const registry: RouteTarget[] = [
    { name: 'astraea', baseUrl: astraea.url, phrases: ['hey astraea'] },
    { name: 'echobell', baseUrl: echobell.url, phrases: ['hey echo'] },
  ];
  const load = () => [...registry];
  const forwarder = createForwarder({ timeoutMs: 30_000 });
  afterFile(() => forwarder.close());
  const store = openStore(tempDbPath());
  afterFile(() => store.close());
  const clock = new ManualClock();
  const modes = new ListenModes(store.settings, { clock, activeTimeoutS: () => 30 });
  afterFile(() => modes.close());
  const records: DecisionRecord[] = [];
  const warnings: string[] = [];
  const base = { sessionTimeoutS: 25, cancelPhrases: ['cancel'], stripTrigger: true };
  const handler = new TextHandler(
    buildRoutingTable(load(), match),
    inlineTableBuilder(load, match),
    {
      ...base,
      ...rules,
      match,
      clock,
      forwarder,
      listenModes: modes,
      onDecision: (r) => records.push(r),
      onWarning: (m) => warnings.push(m),
    },
  );
  afterFile(() => handler.close());
  const setup: Setup = {
    handler,
    astraea,
    echobell,
    registry,
    records,
    warnings,
    modes,
    say: (text, more = {}) => handler.handle({ source_id: 'kitchen', text, ...more }),
    reconfigure: (next) => handler.reconfigure({ ...base, ...next }),
  };
  return setup;
}

describe('names, per front end', () => {
  it('wake their target for Wyoming by default, not for HTTP or MQTT', async () => {
    const t = await setup();
    expect(await t.say("Astraea, who's at the door?", { source_id: 'http' })).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
    expect(await t.say('Astraea, lights', { source_id: 'mqtt', frontEnd: 'mqtt' })).toMatchObject({
      mode: 'idle',
    });
    const woken = await t.say("Astraea, who's at the door?", { frontEnd: 'wyoming' });
    expect(woken).toMatchObject({
      mode: 'session_open',
      routed_to: 'astraea',
      reason: 'trigger_name:astraea',
      forwarded: true,
      match: { phrase: 'astraea', matched_text: 'Astraea', exact: true },
    });
    expect(t.astraea.received.map((r) => r.body)).toMatchObject([
      { text: "who's at the door?", mode: 'triggered', source_id: 'kitchen' },
    ]);
    expect(t.records.map((r) => [r.frontEnd, r.reason])).toEqual([
      ['http', 'no_trigger_no_session'],
      ['mqtt', 'no_trigger_no_session'],
      ['wyoming', 'trigger_name:astraea'],
    ]);
  });

  it('follow the live setting: all, then off', async () => {
    const t = await setup({ matchNames: 'all' });
    expect(await t.say('echobell, ring', { source_id: 'a' })).toMatchObject({
      routed_to: 'echobell',
      reason: 'trigger_name:echobell',
    });
    t.reconfigure({ matchNames: 'off' });
    expect(await t.say('echobell, ring', { source_id: 'b', frontEnd: 'wyoming' })).toMatchObject({
      mode: 'idle',
    });
    // Registered phrases are not names: they wake whatever the setting.
    expect(await t.say('hey echo ring', { source_id: 'c', frontEnd: 'wyoming' })).toMatchObject({
      routed_to: 'echobell',
      reason: 'trigger_phrase:hey echo',
    });
    t.reconfigure({ matchNames: 'wyoming' });
    expect(await t.say('echobell, ring', { source_id: 'd', frontEnd: 'wyoming' })).toMatchObject({
      routed_to: 'echobell',
    });
  });

  it('tell the decision log whether names could have woken an idle utterance', async () => {
    const t = await setup();
    await t.say('lights for astraea', { source_id: 'a', frontEnd: 'wyoming' });
    await t.say('Astraea, lights', { source_id: 'b' });
    const [wyoming, http] = t.records;
    expect(wyoming).toMatchObject({ mode: 'idle', idle: { names: true } });
    expect(http).toMatchObject({ mode: 'idle', idle: { names: false } });
  });
});

describe('the default target', () => {
  it('takes what would have been idle, opening a conversation that then continues', async () => {
    const t = await setup({ defaultTarget: 'astraea' });
    expect(await t.say('what time is it')).toMatchObject({
      handled: true,
      mode: 'session_open',
      routed_to: 'astraea',
      reason: 'default_target',
      forwarded: true,
      match: null,
    });
    expect(await t.say('and tomorrow')).toMatchObject({
      mode: 'session_continue',
      routed_to: 'astraea',
    });
    expect(t.astraea.received.map((r) => r.body)).toMatchObject([
      { text: 'what time is it', mode: 'triggered' },
      { text: 'and tomorrow', mode: 'open_listen' },
    ]);
    // A wake phrase still picks its own target.
    expect(await t.say('hey echo ring', { source_id: 'hall' })).toMatchObject({
      routed_to: 'echobell',
    });
    expect(await t.say('   ', { source_id: 'porch' })).toMatchObject({ reason: 'empty_text' });
  });

  it("gives way to the input's own default (a Wyoming binding's), and to none when it is null", async () => {
    const t = await setup({ defaultTarget: 'astraea' });
    expect(
      await t.say('ring the bell', {
        source_id: 'a',
        frontEnd: 'wyoming',
        defaultTarget: 'echobell',
      }),
    ).toMatchObject({ routed_to: 'echobell', reason: 'default_target' });
    expect(await t.say('ring the bell', { source_id: 'b', defaultTarget: null })).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
    expect(await t.say('ring the bell', { source_id: 'c' })).toMatchObject({
      routed_to: 'astraea',
    });
  });

  it('comes after an active listen mode', async () => {
    const t = await setup({ defaultTarget: 'astraea' });
    t.modes.set({ mode: 'active', target: 'echobell', source: 'api:echobell', reason: null });
    expect(await t.say('yes please')).toMatchObject({
      mode: 'dispatch_once',
      routed_to: 'echobell',
    });
    expect(await t.say('and what time is it')).toMatchObject({ routed_to: 'astraea' });
  });

  it('routes nowhere while it is not registered, warned once, and again after it goes again', async () => {
    const t = await setup({ defaultTarget: 'nova' });
    expect(await t.say('hello there', { source_id: 'a' })).toMatchObject({ mode: 'idle' });
    expect(await t.say('hello again', { source_id: 'b' })).toMatchObject({ mode: 'idle' });
    expect(await t.say('hi', { source_id: 'c', defaultTarget: 'Vega' })).toMatchObject({
      mode: 'idle',
    });
    expect(t.warnings).toEqual([
      "default target 'nova' is not registered: utterances with no wake phrase and no conversation route nowhere until it is",
      "default target 'vega' is not registered: utterances with no wake phrase and no conversation route nowhere until it is",
    ]);
    const nova = await recordingTarget();
    t.registry.push({ name: 'nova', baseUrl: nova.url, phrases: ['hey nova'] });
    t.handler.registryChanged();
    await t.handler.current();
    expect(await t.say('hello there', { source_id: 'd' })).toMatchObject({
      routed_to: 'nova',
      reason: 'default_target',
      forwarded: true,
    });
    t.registry.pop();
    t.handler.registryChanged();
    await t.handler.current();
    expect(await t.say('hello there', { source_id: 'e' })).toMatchObject({ mode: 'idle' });
    expect(t.warnings).toHaveLength(3);
  });
});
