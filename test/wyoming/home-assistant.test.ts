/**
 * Echonet as Home Assistant's Wyoming integration sees it, over real sockets: `describe` for the
 * config entry, then a new connection per utterance with a `transcript` carrying the conversation's
 * ids, answered `handled` (spoken), `not-handled` (spoken as the failure) or `error`.
 */
import { describe, expect, it } from 'vitest';
import { register } from '../helpers/app.js';
import { closedPort, recordingTarget } from '../helpers/recording-target.js';
import { ask, frame, transcript, WyomingClient } from '../helpers/wyoming-client.js';
import { waitFor } from '../helpers/wait.js';
import { startWyomingApp } from './helpers.js';
import { VERSION } from '../../src/version.js';

describe('describe and ping', () => {
  it('answers describe with one installed handle program for every language', async () => {
    const t = await startWyomingApp({ ECHONET_DISCOVERY_NAME: 'Hall Echonet' });
    const info = await ask(t.port, frame('describe'));
    expect(info.type).toBe('info');
    const attribution = { name: 'Echonet', url: '' };
    expect(info.data).toEqual({
      asr: [],
      tts: [],
      handle: [
        {
          name: 'Hall Echonet',
          attribution,
          installed: true,
          description: 'Routes each utterance to the assistant it names',
          version: VERSION,
          models: [
            {
              name: 'echonet',
              attribution,
              installed: true,
              description: 'Routes each utterance to the assistant it names',
              version: VERSION,
              // Empty: every language, to Home Assistant.
              languages: [],
            },
          ],
          supports_handled_streaming: false,
        },
      ],
      intent: [],
      wake: [],
      mic: [],
      snd: [],
    });
  });

  it('answers ping with pong, echoing its text', async () => {
    const t = await startWyomingApp();
    expect(await ask(t.port, frame('ping', { text: 'are you there' }))).toEqual({
      type: 'pong',
      data: { text: 'are you there' },
      payload: null,
    });
    expect((await ask(t.port, frame('ping'))).type).toBe('pong');
  });
});

describe('transcripts, one connection each', () => {
  it('forwards a named utterance and answers handled; source_id is the satellite', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);

    const answer = await ask(
      t.port,
      transcript("Hey Astraea, who's at the door?", {
        conversation_id: '01JDXYZ',
        satellite_id: 'assist_satellite.hall',
        device_id: 'd41d8cd98f00b204e9800998ecf8427e',
      }),
    );
    // The seam's reply is null until targets answer one: nothing to say, and it was handled.
    expect(answer).toEqual({ type: 'handled', data: { text: '' }, payload: null });
    expect(astraea.received).toHaveLength(1);
    expect(astraea.received[0]?.body).toMatchObject({
      source_id: 'assist_satellite.hall',
      text: "who's at the door?",
      mode: 'triggered',
    });
  });

  it('keeps the conversation across connections: the next utterance needs no name', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const sat = { satellite_id: 'assist_satellite.kitchen' };

    expect((await ask(t.port, transcript('hey astraea set a timer', sat))).type).toBe('handled');
    expect((await ask(t.port, transcript('for ten minutes', sat))).type).toBe('handled');
    expect(astraea.received.map((r) => r.body)).toMatchObject([
      { text: 'set a timer', mode: 'triggered' },
      { text: 'for ten minutes', mode: 'open_listen', source_id: 'assist_satellite.kitchen' },
    ]);
    // Another satellite has no conversation.
    const other = await ask(
      t.port,
      transcript('for ten minutes', { satellite_id: 'assist_satellite.den' }),
    );
    expect(other.type).toBe('not-handled');
  });

  it('uses the device id without a satellite, and the address without either', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);

    await ask(t.port, transcript('hey astraea one', { device_id: 'dev-42' }));
    await ask(
      t.port,
      frame('transcript', { text: 'hey astraea two', context: { conversation_id: 'c' } }),
    );
    await ask(t.port, frame('transcript', { text: 'hey astraea three' }));
    expect(astraea.received.map((r) => (r.body as { source_id: string }).source_id)).toEqual([
      'dev-42',
      '127.0.0.1',
      '127.0.0.1',
    ]);
  });

  it('ends the conversation on cancel and answers handled with nothing to say', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const sat = { satellite_id: 'assist_satellite.hall' };
    await ask(t.port, transcript('hey astraea play some jazz', sat));

    expect(await ask(t.port, transcript('never mind', sat))).toEqual({
      type: 'handled',
      data: { text: '' },
      payload: null,
    });
    expect(astraea.received).toHaveLength(1);
    const after = await ask(t.port, transcript('louder', sat));
    expect(after.type).toBe('not-handled');
  });

  it('says how to address an assistant when nothing matched and no conversation is open', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    expect(await ask(t.port, transcript('what time is it'))).toEqual({
      type: 'not-handled',
      data: { text: 'No assistant is registered with Echonet yet.' },
      payload: null,
    });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    expect(await ask(t.port, transcript('what time is it'))).toEqual({
      type: 'not-handled',
      data: { text: 'Say an assistant\'s name first, for example "Astraea, what time is it?"' },
      payload: null,
    });
    expect(astraea.received).toHaveLength(0);
  });

  it('says which assistant did not answer when the forward fails', async () => {
    const t = await startWyomingApp();
    await register(t, 'astraea', `http://127.0.0.1:${await closedPort()}`, ['hey astraea']);
    expect(await ask(t.port, transcript('hey astraea hello'))).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea did not answer.' },
      payload: null,
    });
  });

  it('answers within the forward timeout when the assistant hangs', async () => {
    const slow = await recordingTarget();
    slow.behave({ kind: 'hang' });
    const t = await startWyomingApp({ ECHONET_HTTP_TIMEOUT_S: '0.2' });
    await register(t, 'astraea', slow.url, ['hey astraea']);
    expect(await ask(t.port, transcript('hey astraea are you there'))).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea did not answer in time.' },
      payload: null,
    });
  });

  it('says the assistant is busy when its in-flight cap is reached', async () => {
    const held = await recordingTarget();
    held.behave({ kind: 'hold' });
    const t = await startWyomingApp({ ECHONET_TARGET_MAX_INFLIGHT: '1' });
    await register(t, 'astraea', held.url, ['hey astraea']);
    const first = await WyomingClient.connect(t.port);
    first.send(transcript('hey astraea one', { satellite_id: 'a' }));
    await held.waitFor(1);
    expect(await ask(t.port, transcript('hey astraea two', { satellite_id: 'b' }))).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea is busy; try again in a moment.' },
      payload: null,
    });
    held.release();
    expect((await first.next()).type).toBe('handled');
    first.close();
  });

  it('says nothing was passed on while Echonet is muted', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp({ ECHONET_INITIAL_LISTEN_MODE: 'inactive' });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    expect(await ask(t.port, transcript('hey astraea hello'))).toEqual({
      type: 'not-handled',
      data: { text: 'Echonet is muted, so nothing was passed on.' },
      payload: null,
    });
    expect(astraea.received).toHaveLength(0);
  });

  it('serves many events on one long-lived connection, in order', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const client = await WyomingClient.connect(t.port);
    const sent: string[] = [];
    const bytes: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 4 === 0) {
        bytes.push(transcript(`hey astraea number ${i}`, { satellite_id: `s${i}` }));
        sent.push('handled');
      } else {
        bytes.push(frame('ping', { text: String(i) }));
        sent.push('pong');
      }
    }
    // All at once: the server reads them as they come, answering one at a time.
    client.send(Buffer.concat(bytes));
    await client.nth(200);
    expect(client.events.map((e) => e.type)).toEqual(sent);
    expect(client.events[1]?.data).toEqual({ text: '1' });
    expect(astraea.received).toHaveLength(50);
    client.close();
  });

  it('on shutdown, answers the utterance under way, then closes; new connections are refused', async () => {
    const held = await recordingTarget();
    held.behave({ kind: 'hold' });
    const t = await startWyomingApp();
    await register(t, 'astraea', held.url, ['hey astraea']);
    const client = await WyomingClient.connect(t.port);
    client.send(transcript('hey astraea lock up'));
    await held.waitFor(1);
    const closing = t.close();
    await waitFor(() => t.app.wyoming.listening.length === 0, { what: 'the listener closed' });
    await expect(WyomingClient.connect(t.port)).rejects.toThrow(/ECONNREFUSED/);
    held.release();
    expect((await client.next()).type).toBe('handled');
    await client.waitClosed();
    await closing;
  });

  it('answers a client that half-closes after sending its transcript', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const client = await WyomingClient.connect(t.port);
    client.send(transcript('hey astraea hello'));
    client.end();
    expect((await client.next()).type).toBe('handled');
    await client.waitClosed();
  });
});
