/**
 * One kitchen with a microphone on each front end: an HTTP panel (POST /text), a Wyoming satellite
 * and a Rhasspy site speaking Hermes over a real broker, all placed by ECHONET_SOURCE_ROOMS. The
 * arbitration and echo rules live in routing, so they hold across the three: one wake is
 * forwarded whichever front end heard it best, and a reply heard back by any of them is dropped.
 */
import { describe, expect, it } from 'vitest';
import { register } from '../helpers/app.js';
import { mqttClient, startBroker, subscribe, type Inbox } from '../helpers/mqtt-broker.js';
import { logged, say, type Json } from '../helpers/text.js';
import { waitFor } from '../helpers/wait.js';
import { ask, transcript } from '../helpers/wyoming-client.js';
import { startWyomingApp, type WyomingApp } from '../wyoming/helpers.js';
import { recordingTarget } from '../helpers/recording-target.js';
import type { MqttClient } from 'mqtt';

const ROOMS = 'kitchen-panel=kitchen,kitchen-sat=kitchen,kitchen-site=kitchen';

async function kitchen(reply: string) {
  const broker = await startBroker();
  const astraea = await recordingTarget();
  astraea.behave({ kind: 'answer', body: JSON.stringify({ reply }) });
  const t = await startWyomingApp({ ECHONET_SOURCE_ROOMS: ROOMS, ECHONET_MQTT_URL: broker.url });
  await t.app.mqtt.start();
  await waitFor(() => t.app.mqtt.status === 'connected', { what: 'Echonet to join the broker' });
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  const site = await mqttClient(broker);
  const inbox = await subscribe(site, ['echonet/decision/#', 'hermes/tts/say']);
  return { t, astraea, site, inbox };
}

/** What the Rhasspy site's ASR publishes after its wake word. */
function hermes(site: MqttClient, text: string): Promise<unknown> {
  return site.publishAsync(
    'hermes/asr/textCaptured',
    JSON.stringify({ text, likelihood: 0.9, seconds: 1.2, siteId: 'kitchen-site' }),
  );
}

function satellite(t: WyomingApp, text: string) {
  return ask(t.port, transcript(text, { satellite_id: 'kitchen-sat' }));
}

function decisions(inbox: Inbox): Json[] {
  return inbox.on('echonet/decision/kitchen-site') as Json[];
}

describe('one kitchen, three front ends', () => {
  it('forwards one wake of three, the most complete, whichever front end heard it', async () => {
    const { t, astraea, site, inbox } = await kitchen('Preheating to 200.');
    const fromPanel = say(t, 'kitchen-panel', 'hey astraea oven on', { room: 'kitchen' });
    await waitFor(() => t.app.rooms.waiting === 1, { what: "the panel's wake to wait" });
    const fromSatellite = satellite(t, 'hey astraea the oven on please');
    await waitFor(() => t.app.rooms.waiting === 2, { what: "the satellite's wake to wait" });
    await hermes(site, 'hey astraea turn the oven on to two hundred degrees');
    await waitFor(() => t.app.rooms.waiting === 3, { what: "the Hermes site's wake to wait" });
    expect(astraea.received).toHaveLength(0);

    t.clock.advance(0.3);
    // The Hermes site said most after the wake phrase: only its copy reaches the assistant, and
    // only it is told the reply.
    const won = await inbox.next('echonet/decision/kitchen-site');
    expect(won).toMatchObject({
      forwarded: true,
      routed_to: 'astraea',
      reply: 'Preheating to 200.',
    });
    expect(await inbox.next('hermes/tts/say')).toMatchObject({
      text: 'Preheating to 200.',
      siteId: 'kitchen-site',
    });
    expect(await fromPanel).toMatchObject({
      handled: true,
      forwarded: false,
      reason: 'duplicate_wake',
      winner: 'kitchen-site',
    });
    // The satellite lost too, and stays silent.
    expect(await fromSatellite).toMatchObject({ type: 'handled', data: { text: '' } });
    const [got] = await astraea.waitFor(1);
    expect(got!.body).toMatchObject({
      source_id: 'kitchen-site',
      room: 'kitchen',
      text: 'turn the oven on to two hundred degrees',
    });
    expect(astraea.received).toHaveLength(1);

    // The winner's row names all three front ends.
    const row = await logged(t, String((won as Json).event_id));
    expect(row).toMatchObject({ front_end: 'mqtt', forwarded: true });
    const contenders = row.detail.arbitration.contenders as Json[];
    expect(contenders.map((c) => [c.source_id, c.front_end])).toEqual([
      ['kitchen-panel', 'http'],
      ['kitchen-sat', 'wyoming'],
      ['kitchen-site', 'mqtt'],
    ]);
  });

  it('drops the reply heard back by a microphone on another front end', async () => {
    const { t, astraea, site, inbox } = await kitchen('The timer is set for ten minutes.');
    // A wake the panel alone hears: it waits the window, as the kitchen has three known sources.
    const woke = say(t, 'kitchen-panel', 'hey astraea set a timer for ten minutes', {
      room: 'kitchen',
    });
    await waitFor(() => t.app.rooms.waiting === 1);
    t.clock.advance(0.3);
    expect(await woke).toMatchObject({
      forwarded: true,
      reply: 'The timer is set for ten minutes.',
    });

    // The Rhasspy site hears the panel's speaker say it.
    t.clock.advance(2);
    await hermes(site, 'the timer is set for ten minutes');
    const echo = (await inbox.next('echonet/decision/kitchen-site')) as Json;
    expect(echo).toMatchObject({
      handled: true,
      forwarded: false,
      reason: 'echo_of_reply',
      routed_to: null,
    });
    expect(inbox.on('hermes/tts/say')).toHaveLength(0);
    // So does the satellite; neither reaches the assistant again.
    expect(await satellite(t, 'timer is set for ten minutes')).toMatchObject({
      type: 'handled',
      data: { text: '' },
    });
    expect(astraea.received).toHaveLength(1);
    const row = await logged(t, String(echo.event_id));
    expect(row).toMatchObject({ front_end: 'mqtt', reason: 'echo_of_reply' });
    expect(row.detail.echo).toMatchObject({
      room: 'kitchen',
      reply: 'The timer is set for ten minutes.',
    });
    expect(decisions(inbox)).toHaveLength(1);
  });
});
