/**
 * What a network can send the Wyoming port, over real sockets: every bad input gets an `error`
 * event (with what was wrong) or a closed connection, and the server keeps answering the next
 * client. Nothing here waits for a length of time: each test waits for the answer or the close.
 */
import { describe, expect, it } from 'vitest';
import { HandleService, type Answer } from '../../src/wyoming/handle-service.js';
import { WyomingServer } from '../../src/wyoming/server.js';
import { register } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';
import { ask, frame, transcript, WyomingClient } from '../helpers/wyoming-client.js';
import { startWyomingApp, type WyomingApp } from './helpers.js';
import { recordingTarget } from '../helpers/recording-target.js';

/** The server still answers a new client as Home Assistant would connect. */
async function stillServing(t: WyomingApp): Promise<void> {
  expect((await ask(t.port, frame('describe'))).type).toBe('info');
}

/** Sends `bytes`; resolves with every event received until the server closed the connection. */
async function sendUntilClosed(t: WyomingApp, bytes: Buffer): Promise<WyomingClient> {
  const client = await WyomingClient.connect(t.port);
  client.send(bytes);
  await client.waitClosed();
  return client;
}

describe('bad frames close the connection after one error event', () => {
  it.each([
    ['broken JSON', Buffer.from('{"type": "transcript", oops}\n'), 'bad_header'],
    ['a header without a type', Buffer.from('{"data": {"text": "hi"}}\n'), 'bad_header'],
    [
      'a wrong data_length',
      Buffer.from('{"type":"transcript","data_length":"ten"}\n'),
      'bad_header',
    ],
    [
      'data over 64 KiB',
      Buffer.from('{"type":"transcript","data_length":65537}\n'),
      'data_too_large',
    ],
    [
      'a payload over 64 KiB',
      Buffer.from('{"type":"audio-chunk","payload_length":99999999}\n'),
      'payload_too_large',
    ],
    ['a header over 64 KiB', Buffer.alloc(70 * 1024, 0x7b), 'header_too_large'],
  ])('%s', async (_what, bytes, code) => {
    const t = await startWyomingApp();
    const client = await sendUntilClosed(t, Buffer.concat([bytes, frame('describe')]));
    expect(client.events).toHaveLength(1);
    expect(client.events[0]).toMatchObject({ type: 'error', data: { code } });
    expect(typeof client.events[0]?.data.text).toBe('string');
    await stillServing(t);
  });
});

describe('bad events get an error event and the connection goes on', () => {
  it('data that is not JSON, an unknown event type, a payload on a transcript', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const client = await WyomingClient.connect(t.port);
    client.send(
      Buffer.concat([
        Buffer.from('{"type":"transcript","data_length":6}\n{text:'),
        frame('audio-start', { rate: 16000, width: 2, channels: 1 }),
        frame('transcript', { text: 'hey astraea hi' }, { payload: Buffer.from('RIFF') }),
        frame('describe'),
      ]),
    );
    await client.nth(4);
    expect(client.events.map((e) => e.data.code ?? e.type)).toEqual([
      'bad_data',
      'unknown_event',
      'bad_transcript',
      'info',
    ]);
    expect(client.events[1]?.data.text).toBe(
      'unknown event type "audio-start": Echonet answers describe, transcript and ping',
    );
    expect(client.events[2]?.data.text).toBe(
      'a transcript carries no payload (payload_length must be 0)',
    );
    expect(astraea.received).toHaveLength(0);
    client.close();
  });

  it.each([
    [{}, 'transcript.text must be a string'],
    [{ text: 42 }, 'transcript.text must be a string'],
    [{ text: 'x'.repeat(501) }, 'transcript.text must be at most 500 characters (got 501)'],
    [{ text: 'hi', language: 5 }, 'transcript.language must be a string'],
    [{ text: 'hi', context: 'kitchen' }, 'transcript.context must be an object'],
    [
      { text: 'hi', context: { satellite_id: ['a'] } },
      'transcript.context.satellite_id must be a string of at most 255 characters',
    ],
    [
      { text: 'hi', context: { conversation_id: 'c'.repeat(256) } },
      'transcript.context.conversation_id must be a string of at most 255 characters',
    ],
  ])('a transcript with %j is refused: %s', async (data, message) => {
    const t = await startWyomingApp();
    expect(await ask(t.port, frame('transcript', data))).toEqual({
      type: 'error',
      data: { text: message, code: 'bad_transcript' },
      payload: null,
    });
  });
});

describe('connections that misbehave', () => {
  it('a half-written frame, then the client goes: closed, nothing routed', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const whole = transcript('hey astraea hello');
    for (const cut of [5, whole.indexOf(0x0a) + 1, whole.length - 1]) {
      const client = await WyomingClient.connect(t.port);
      client.send(whole.subarray(0, cut));
      client.end();
      await client.waitClosed();
      expect(client.events).toEqual([]);
    }
    expect(astraea.received).toHaveLength(0);
    await stillServing(t);
  });

  it('a data_length that is not the length of the data: too long waits, too short is read on', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp({ ECHONET_WYOMING_IDLE_TIMEOUT_S: '0.2' });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const data = Buffer.from(JSON.stringify({ text: 'hey astraea hello' }));

    // Longer than what follows: the event is never whole, so the connection stays silent until
    // the idle timeout closes it; nothing is routed.
    const waiting = await WyomingClient.connect(t.port);
    waiting.send(
      Buffer.concat([
        Buffer.from(`{"type":"transcript","data_length":${data.length + 10}}\n`),
        data,
      ]),
    );
    await waiting.waitClosed();
    expect(waiting.events).toEqual([]);

    // Shorter: its bytes are no JSON object (bad_data), and the rest of the data with the next
    // event's header, read as one header line, is none (bad_header): the stream cannot be
    // followed, so it is closed.
    const short = await sendUntilClosed(
      t,
      Buffer.concat([
        Buffer.from(`{"type":"transcript","data_length":${data.length - 4}}\n`),
        data,
        frame('describe'),
      ]),
    );
    expect(short.events.map((e) => e.data.code)).toEqual(['bad_data', 'bad_header']);
    expect(astraea.received).toHaveLength(0);
    await stillServing(t);
  });

  it('a client that connects and says nothing is closed after the idle timeout', async () => {
    const t = await startWyomingApp({ ECHONET_WYOMING_IDLE_TIMEOUT_S: '0.2' });
    const silent = await WyomingClient.connect(t.port);
    await silent.waitClosed();
    expect(silent.events).toEqual([]);
    // A client that talks is not idle while it talks, and its answers arrive first.
    const talker = await WyomingClient.connect(t.port);
    talker.send(frame('ping'));
    expect((await talker.next()).type).toBe('pong');
    await talker.waitClosed();
  });

  it('waiting for a slow assistant does not count as idle', async () => {
    const slow = await recordingTarget();
    slow.behave({ kind: 'hold' });
    const t = await startWyomingApp({ ECHONET_WYOMING_IDLE_TIMEOUT_S: '0.1' });
    await register(t, 'astraea', slow.url, ['hey astraea']);
    const client = await WyomingClient.connect(t.port);
    client.send(transcript('hey astraea think hard'));
    await slow.waitFor(1);
    // A connection whose last word came after the transcript's is closed as idle: the idle
    // timeout has passed for the waiting one too, which stays open.
    const pinger = await WyomingClient.connect(t.port);
    pinger.send(frame('ping'));
    await pinger.next();
    await pinger.waitClosed();
    expect((await ask(t.port, frame('describe'))).type).toBe('info');
    expect(client.isClosed).toBe(false);
    slow.release();
    expect((await client.next()).type).toBe('handled');
  });

  it('frames split at every byte offset over a real socket', async () => {
    const t = await startWyomingApp();
    const stream = Buffer.concat([frame('ping', { text: 'ü' }), frame('describe')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const client = await WyomingClient.connect(t.port);
      client.send(stream.subarray(0, cut));
      // Two writes a turn of the event loop apart, without Nagle: two segments as a rule (the
      // decoder's own test covers every split exactly; this one covers the socket path).
      await new Promise((resolve) => setImmediate(resolve));
      client.send(stream.subarray(cut));
      await client.nth(2);
      expect(
        client.events.map((e) => e.type),
        `split at ${cut}`,
      ).toEqual(['pong', 'info']);
      expect(client.events[0]?.data).toEqual({ text: 'ü' });
      client.close();
    }
  });

  it('thousands of connections: each is answered or closed, and the server goes on', async () => {
    const t = await startWyomingApp();
    const clients = await Promise.all(
      Array.from({ length: 2000 }, () => WyomingClient.connect(t.port)),
    );
    for (const c of clients) c.send(frame('ping'));
    const outcomes = await Promise.all(
      clients.map((c) =>
        c.next().then(
          (e) => e.type,
          () => 'closed',
        ),
      ),
    );
    const answered = outcomes.filter((o) => o === 'pong').length;
    const closed = outcomes.filter((o) => o === 'closed').length;
    expect(answered + closed).toBe(2000);
    // At most 1024 open at once per port; the rest are closed on arrival.
    expect(answered).toBeGreaterThanOrEqual(1024);
    for (const c of clients) c.close();
    await waitFor(() => t.app.wyoming.connections === 0, { what: 'every connection closed' });
    await stillServing(t);
  });
});

describe('a failure inside the service', () => {
  it('is an error event and a log line, never a crash', async () => {
    class Broken extends HandleService {
      override answer(): Promise<Answer> {
        throw new Error('bug');
      }
    }
    const errors: string[] = [];
    const quiet = () => undefined;
    const server = new WyomingServer({
      service: new Broken({
        handler: { handle: () => Promise.reject(new Error('unused')), table: { names: () => [] } },
        version: '1',
        deadlineMs: () => 1000,
      }),
      log: { info: quiet, warn: quiet, debug: quiet, error: (_o, msg) => errors.push(msg) },
      idleTimeoutMs: () => 60_000,
      closeGraceMs: () => 1000,
    });
    const { listening } = await server.listen({ host: '127.0.0.1', port: 0, name: 'x' });
    try {
      for (let i = 0; i < 2; i++) {
        expect(await ask(listening.port, frame('describe'))).toEqual({
          type: 'error',
          data: { text: 'internal error', code: 'internal' },
          payload: null,
        });
      }
      expect(errors).toEqual(['Wyoming event failed', 'Wyoming event failed']);
    } finally {
      await server.close();
    }
  });
});
