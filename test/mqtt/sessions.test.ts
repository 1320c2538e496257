/**
 * Hermes session events for the conversations MQTT utterances open, against a real broker:
 * sessionStarted when one opens (customData names the target), sessionEnded with Hermes' reason
 * when it ends (nominal, abortedByUser, timeout even when nobody speaks again, error), Echonet's
 * session id as Hermes' sessionId throughout, and nothing for conversations other front ends own.
 */
import { describe, expect, it } from 'vitest';
import { register, type TestApp } from '../helpers/app.js';
import { mqttClient, startBroker, subscribe, type Inbox } from '../helpers/mqtt-broker.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { startMqttApp } from './helpers.js';

const STARTED = 'hermes/dialogueManager/sessionStarted';
const ENDED = 'hermes/dialogueManager/sessionEnded';

interface Setup {
  t: TestApp;
  target: RecordingTarget;
  inbox: Inbox;
  say(siteId: string, text: string): Promise<void>;
}

async function setup(env: Record<string, string> = {}): Promise<Setup> {
  const broker = await startBroker();
  const target = await startRecordingTarget();
  const t = await startMqttApp(broker, env);
  await register(t, 'astraea', target.url, ['hey astraea']);
  const client = await mqttClient(broker);
  const inbox = await subscribe(client, [STARTED, ENDED, 'hermes/tts/say', 'echonet/decision/#']);
  return {
    t,
    target,
    inbox,
    say: async (siteId, text) => {
      await client.publishAsync(
        'hermes/asr/textCaptured',
        JSON.stringify({ text, likelihood: 0.9, seconds: 1, siteId }),
      );
    },
  };
}

describe('Hermes session events', () => {
  it('says a conversation started and ended nominally when the target ends it', async () => {
    const { target, inbox, say } = await setup();
    target.behave({
      kind: 'answer',
      body: JSON.stringify({ reply: 'Goodnight.', end_session: true }),
    });
    await say('bedroom', 'hey astraea goodnight');
    const started = (await inbox.next(STARTED)) as { sessionId: string };
    expect(started).toEqual({
      sessionId: expect.any(String),
      siteId: 'bedroom',
      customData: 'astraea',
    });
    expect(await inbox.next(ENDED)).toEqual({
      sessionId: started.sessionId,
      siteId: 'bedroom',
      customData: 'astraea',
      termination: { reason: 'nominal' },
    });
    // The reply is spoken in the conversation it ended.
    expect(await inbox.next('hermes/tts/say')).toMatchObject({
      text: 'Goodnight.',
      siteId: 'bedroom',
      sessionId: started.sessionId,
    });
  });

  it('uses the decision session id, and says abortedByUser on a cancel phrase', async () => {
    const { inbox, say } = await setup();
    await say('hall', 'hey astraea what is on today');
    const decision = (await inbox.next('echonet/decision/hall')) as { session: { id: string } };
    const started = (await inbox.next(STARTED)) as { sessionId: string };
    expect(started.sessionId).toBe(decision.session.id);
    await say('hall', 'never mind');
    expect(await inbox.next(ENDED)).toMatchObject({
      sessionId: decision.session.id,
      siteId: 'hall',
      termination: { reason: 'abortedByUser' },
    });
  });

  it('says timeout when a conversation expires with nobody speaking again', async () => {
    const { t, inbox, say } = await setup({ ECHONET_SESSION_TIMEOUT_S: '10' });
    await say('den', 'hey astraea play some jazz');
    const started = (await inbox.next(STARTED)) as { sessionId: string };
    await inbox.next('echonet/decision/den');
    t.clock.advance(11);
    expect(await inbox.next(ENDED)).toEqual({
      sessionId: started.sessionId,
      siteId: 'den',
      customData: 'astraea',
      termination: { reason: 'timeout' },
    });
  });

  it('says error when the target fails the utterance that opened the conversation', async () => {
    const { target, inbox, say } = await setup();
    target.behave({ kind: 'status', status: 500 });
    await say('porch', 'hey astraea open the gate');
    const started = (await inbox.next(STARTED)) as { sessionId: string };
    expect(await inbox.next(ENDED)).toMatchObject({
      sessionId: started.sessionId,
      siteId: 'porch',
      termination: { reason: 'error' },
    });
  });

  it('says abortedByUser when the speaker wakes another assistant, then starts the new one', async () => {
    const { t, target, inbox, say } = await setup();
    await register(t, 'echobell', target.url, ['hey echobell']);
    await say('study', 'hey astraea read my mail');
    const first = (await inbox.next(STARTED)) as { sessionId: string };
    await say('study', 'hey echobell play the news');
    expect(await inbox.next(ENDED)).toMatchObject({
      sessionId: first.sessionId,
      customData: 'astraea',
      termination: { reason: 'abortedByUser' },
    });
    expect(await inbox.next(STARTED, 1)).toMatchObject({ siteId: 'study', customData: 'echobell' });
  });

  it('says nominal when the API ends it, and error when its target is unregistered', async () => {
    const { t, inbox, say } = await setup();
    await say('garage', 'hey astraea is the door shut');
    const first = (await inbox.next(STARTED)) as { sessionId: string };
    await inbox.next('echonet/decision/garage');
    const ended = await t.request({ method: 'POST', url: '/sessions/garage/end' });
    expect(ended.statusCode).toBe(200);
    expect(await inbox.next(ENDED)).toMatchObject({
      sessionId: first.sessionId,
      termination: { reason: 'nominal' },
    });

    await say('garage', 'hey astraea and the window');
    const second = (await inbox.next(STARTED, 1)) as { sessionId: string };
    await inbox.next('echonet/decision/garage', 1);
    const gone = await t.request({ method: 'DELETE', url: '/targets/astraea' });
    expect(gone.statusCode).toBe(200);
    expect(await inbox.next(ENDED, 1)).toMatchObject({
      sessionId: second.sessionId,
      termination: { reason: 'error' },
    });
  });

  it('tells Hermes nothing of conversations opened over HTTP', async () => {
    const { t, inbox, say } = await setup();
    await t.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'phone', text: 'hey astraea hello' },
    });
    await say('office', 'hey astraea hello');
    const started = (await inbox.next(STARTED)) as { siteId: string };
    await inbox.next('echonet/decision/office');
    expect(started.siteId).toBe('office');
    expect(inbox.on(STARTED)).toHaveLength(1);
  });
});
