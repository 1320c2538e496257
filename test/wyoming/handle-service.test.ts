/**
 * The translation between Wyoming events and the one text-handler call, on its own: what the
 * handler is asked (front end, ids, a binding's default target) and how each result is answered.
 * The handler here is a small recorder answering what the test says, so every outcome (a reply,
 * one that never comes, a failure) is reached without timing.
 */
import { describe, expect, it } from 'vitest';
import type { TextInput, TextResult } from '../../src/routing/text-handler.js';
import type { WyomingEvent } from '../../src/wyoming/framing.js';
import { HandleService, type Handler } from '../../src/wyoming/handle-service.js';
import { register } from '../helpers/app.js';
import { ask, frame } from '../helpers/wyoming-client.js';
import { startWyomingApp } from './helpers.js';
import { recordingTarget } from '../helpers/recording-target.js';

const DELIVERED: TextResult = {
  handled: true,
  routed_to: 'astraea',
  mode: 'session_open',
  session: null,
  forwarded: true,
  reason: 'trigger_phrase:hey astraea',
  match: null,
  event_id: 'e1',
  reply: null,
};

function recorder(answer: (input: TextInput) => Promise<TextResult>) {
  const inputs: TextInput[] = [];
  const handler: Handler = {
    handle: (input) => {
      inputs.push(input);
      return answer(input);
    },
    table: { names: () => ['astraea'] },
  };
  return { inputs, handler };
}

const event = (data: Record<string, unknown>, payload: Buffer | null = null): WyomingEvent => ({
  type: 'transcript',
  data,
  payload,
});

const main = { address: '192.168.1.30', name: 'Echonet' };

describe('HandleService', () => {
  it('asks the handler once, as the wyoming front end, with the ids Home Assistant sent', async () => {
    const { inputs, handler } = recorder(async () => DELIVERED);
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 60_000 });
    await service.answer(
      event({
        text: 'hey astraea hi',
        language: 'en',
        context: { conversation_id: 'conv-9', satellite_id: 'sat', device_id: 'dev' },
      }),
      main,
    );
    await service.answer(event({ text: 'two', context: { device_id: 'dev' } }), main);
    await service.answer(event({ text: 'three', context: { satellite_id: '' } }), main);
    // Each input also carries the hook that tells the service where the forward went.
    for (const input of inputs) expect(typeof input.onForward).toBe('function');
    expect(inputs.map((input) => ({ ...input, onForward: undefined }))).toEqual([
      {
        source_id: 'sat',
        text: 'hey astraea hi',
        frontEnd: 'wyoming',
        conversationId: 'conv-9',
        defaultTarget: undefined,
      },
      {
        source_id: 'dev',
        text: 'two',
        frontEnd: 'wyoming',
        conversationId: null,
        defaultTarget: undefined,
      },
      {
        source_id: '192.168.1.30',
        text: 'three',
        frontEnd: 'wyoming',
        conversationId: null,
        defaultTarget: undefined,
      },
    ]);
  });

  it("passes a binding's target as the default target", async () => {
    const { inputs, handler } = recorder(async () => DELIVERED);
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 60_000 });
    await service.answer(event({ text: 'what time is it' }), {
      ...main,
      name: 'Echonet (echobell)',
      defaultTarget: 'echobell',
    });
    expect(inputs[0]?.defaultTarget).toBe('echobell');
  });

  it("speaks the target's reply when there is one", async () => {
    const { handler } = recorder(async () => ({ ...DELIVERED, reply: 'It is Tom, at the door.' }));
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 60_000 });
    expect(await service.answer(event({ text: 'hey astraea who is it' }), main)).toEqual({
      type: 'handled',
      data: { text: 'It is Tom, at the door.' },
    });
  });

  it('answers not-handled at the deadline when the handler has not answered', async () => {
    const { handler } = recorder(() => new Promise<TextResult>(() => undefined));
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 0 });
    expect(await service.answer(event({ text: 'hey astraea hi' }), main)).toEqual({
      type: 'not-handled',
      data: { text: 'The assistant did not answer in time.' },
    });
  });

  it('names the assistant at the deadline once the forward to it has begun', async () => {
    // As while a fallback target is tried after the intended one timed out: the forward to the
    // intended target began, and no result has come yet.
    const { handler } = recorder((input) => {
      input.onForward?.('astraea');
      return new Promise<TextResult>(() => undefined);
    });
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 0 });
    expect(await service.answer(event({ text: 'hey astraea hi' }), main)).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea did not answer in time.' },
    });
  });

  it('names the intended assistant first when the fallback failed too', async () => {
    const { handler } = recorder(async () => ({
      ...DELIVERED,
      routed_to: 'echo_bell',
      intended_target: 'astraea',
      forwarded: false,
      reason: 'forward_failed:status_503',
    }));
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 60_000 });
    expect(await service.answer(event({ text: 'hey astraea hi' }), main)).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea did not answer, and Echo bell did not answer.' },
    });
  });

  it('answers an error event, and reports it, when the handler fails', async () => {
    const failures: unknown[] = [];
    const { handler } = recorder(() => Promise.reject(new Error('disk on fire')));
    const service = new HandleService({
      handler,
      version: '1',
      deadlineMs: () => 60_000,
      onError: (err) => failures.push(err),
    });
    expect(await service.answer(event({ text: 'hey astraea hi' }), main)).toEqual({
      type: 'error',
      data: { text: 'Echonet could not route this utterance (internal error)', code: 'internal' },
    });
    expect(failures).toHaveLength(1);
  });

  it.each([
    ['target_unavailable', 'Echo bell is not answering right now.'],
    ['forward_failed:status_500', 'Echo bell did not answer.'],
    ['forward_failed:target_unregistered', 'Echo bell is no longer registered.'],
  ])('says why the assistant did not get it: %s', async (reason, text) => {
    const { handler } = recorder(async () => ({
      ...DELIVERED,
      routed_to: 'echo_bell',
      forwarded: false,
      reason,
    }));
    const service = new HandleService({ handler, version: '1', deadlineMs: () => 60_000 });
    expect(await service.answer(event({ text: 'hey echo bell' }), main)).toEqual({
      type: 'not-handled',
      data: { text },
    });
  });
});

describe('bindings on the app', () => {
  it('each binding listens on its own port under its own name', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp({}, { bindings: [{ port: 0, target: 'astraea' }] });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    expect(t.listening).toHaveLength(2);
    const [mainPort, bound] = t.listening;
    expect(mainPort?.name).toBe('Echonet');
    expect(mainPort?.defaultTarget).toBeUndefined();
    expect(bound).toMatchObject({ name: 'Echonet (astraea)', defaultTarget: 'astraea' });
    expect(bound?.port).not.toBe(mainPort?.port);
    const info = await ask(bound?.port ?? 0, frame('describe'));
    expect(info.data.handle).toMatchObject([
      {
        name: 'Echonet (astraea)',
        description: 'Routes each utterance to the assistant it names (otherwise to astraea)',
      },
    ]);
    // A named utterance on a binding still goes where it names.
    expect(
      (await ask(bound?.port ?? 0, frame('transcript', { text: 'hey astraea hi' }))).type,
    ).toBe('handled');
    expect(astraea.received).toHaveLength(1);
  });
});
