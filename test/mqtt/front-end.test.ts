/**
 * The MQTT front end against a real broker over TCP (Mosquitto, or aedes where there is none),
 * spoken to by a real MQTT client as a Rhasspy satellite or a Node-RED flow would: Hermes'
 * textCaptured and Echonet's own topic in; the decision and the reply (tts/say) out.
 */
import { describe, expect, it } from 'vitest';
import { register, startTestApp } from '../helpers/app.js';
import { mqttClient, startBroker, subscribe } from '../helpers/mqtt-broker.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait.js';
import { startMqttApp } from './helpers.js';

describe('MQTT front end', () => {
  it('routes a Hermes textCaptured and publishes the decision and the reply for the site', async () => {
    const broker = await startBroker();
    const target = await startRecordingTarget();
    target.behave({ kind: 'answer', body: JSON.stringify({ reply: 'The oven is at 180.' }) });
    const t = await startMqttApp(broker);
    await register(t, 'astraea', target.url, ['hey astraea']);
    const satellite = await mqttClient(broker);
    const inbox = await subscribe(satellite, ['echonet/decision/#', 'hermes/tts/say']);

    await satellite.publishAsync(
      'hermes/asr/textCaptured',
      JSON.stringify({
        text: 'hey astraea how hot is the oven',
        likelihood: 0.92,
        seconds: 1.4,
        siteId: 'kitchen',
        sessionId: 'rhasspy-7',
      }),
    );
    const decision = (await inbox.next('echonet/decision/kitchen')) as Record<string, unknown>;
    expect(decision).toMatchObject({
      handled: true,
      routed_to: 'astraea',
      mode: 'session_open',
      forwarded: true,
      reply: 'The oven is at 180.',
    });
    const [got] = await target.waitFor(1);
    expect(got!.body).toMatchObject({
      source_id: 'kitchen',
      confidence: 0.92,
      text: 'how hot is the oven',
    });
    const session = decision.session as { id: string; source_id: string };
    expect(session.source_id).toBe('kitchen');
    expect(await inbox.next('hermes/tts/say')).toEqual({
      text: 'The oven is at 180.',
      siteId: 'kitchen',
      id: decision.event_id,
      sessionId: session.id,
    });

    // The decision log knows the front end and the Hermes session id the satellite sent.
    const logged = await waitFor(async () => {
      const r = await t.request({ method: 'GET', url: `/events/${String(decision.event_id)}` });
      return r.statusCode === 200 ? r.json().event : undefined;
    });
    expect(logged).toMatchObject({ front_end: 'mqtt', conversation_id: 'rhasspy-7' });
  });

  it('takes POST /text bodies on its own topic, under the configured prefix', async () => {
    const broker = await startBroker();
    const target = await startRecordingTarget();
    const t = await startMqttApp(broker, { ECHONET_MQTT_TOPIC_PREFIX: 'house/echonet' });
    await register(t, 'astraea', target.url, ['hey astraea']);
    const flow = await mqttClient(broker);
    const inbox = await subscribe(flow, ['house/echonet/decision/+', 'hermes/tts/say']);

    await flow.publishAsync(
      'house/echonet/text',
      JSON.stringify({ source_id: 'node-red', room: 'hall', text: 'hey astraea lights', ts: 17e8 }),
    );
    const decision = await inbox.next('house/echonet/decision/node-red');
    expect(decision).toMatchObject({ handled: true, routed_to: 'astraea', forwarded: true });
    const [got] = await target.waitFor(1);
    expect(got!.body).toMatchObject({ source_id: 'node-red', room: 'hall', ts: 17e8 });

    // The same answer as POST /text gives, field for field (ids and times aside).
    const http = (
      await t.request({
        method: 'POST',
        url: '/text',
        // In a room of its own: the same wake in the hall at the same instant would be a duplicate.
        payload: { source_id: 'http-twin', room: 'study', text: 'hey astraea lights', ts: 17e8 },
      })
    ).json();
    expect(Object.keys(decision as object).sort()).toEqual(Object.keys(http).sort());
    // No reply from the target: nothing to say.
    expect(inbox.on('hermes/tts/say')).toEqual([]);
  });

  it('names an idle utterance too, on a topic level safe for any source id', async () => {
    const broker = await startBroker();
    const t = await startMqttApp(broker);
    const flow = await mqttClient(broker);
    const inbox = await subscribe(flow, ['echonet/decision/#']);
    await flow.publishAsync(
      'echonet/text',
      JSON.stringify({ source_id: 'a/b+c#d', text: 'nobody is named here' }),
    );
    expect(await inbox.next('echonet/decision/a_b_c_d')).toMatchObject({
      handled: false,
      mode: 'idle',
      forwarded: false,
    });
    await t.close();
  });

  it('opens the microphone of a site whose wake word was heard, as a dialogue manager does', async () => {
    const broker = await startBroker();
    await startMqttApp(broker);
    const satellite = await mqttClient(broker);
    const inbox = await subscribe(satellite, ['hermes/asr/startListening']);
    await satellite.publishAsync(
      'hermes/hotword/porcupine/detected',
      JSON.stringify({ modelId: 'porcupine', currentSensitivity: 0.5, siteId: 'kitchen' }),
    );
    expect(await inbox.next('hermes/asr/startListening')).toEqual({
      siteId: 'kitchen',
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      stopOnSilence: true,
      sendAudioCaptured: false,
    });
  });

  it('is off without a broker, and /health says so', async () => {
    const t = await startTestApp();
    await t.app.mqtt.start();
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, mqtt: 'off' });
  });

  it('does not connect while the app is built, only once started', async () => {
    const broker = await startBroker();
    const t = await startTestApp({ ECHONET_MQTT_URL: broker.url });
    expect(t.app.mqtt.status).toBe('off');
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json().mqtt).toBe('off');
    await t.app.mqtt.start();
    await waitFor(async () => (await t.app.inject({ url: '/health' })).json().mqtt === 'connected');
    // GET /metrics reports the same state, from the app's own front end.
    const metrics = (await t.request({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('echonet_mqtt_state{state="connected"} 1');
  });
});
