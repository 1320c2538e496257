/**
 * What a broker and its publishers can do wrong, against a real broker: a broker down at start-up
 * or killed mid-run (Echonet keeps serving HTTP, says so in /health and the log, and reconnects
 * with backoff on its clock), malformed, oversized and wrong-type messages (dropped, logged once
 * per kind per minute), and the password, which no log line ever holds.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { register } from '../helpers/app.js';
import { mqttClient, startBroker, subscribe } from '../helpers/mqtt-broker.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait.js';
import { capturingLogger, startMqttApp } from './helpers.js';
import { startTestApp } from '../helpers/app.js';

const health = async (t: { app: { inject(o: object): Promise<{ json(): { mqtt: string } }> } }) =>
  (await t.app.inject({ method: 'GET', url: '/health' })).json().mqtt;

const dropped = (lines: string[], kind: string) =>
  lines
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'MQTT message dropped' && l.kind === kind);

describe('MQTT robustness', () => {
  it('survives the broker being killed and restarted mid-run, and reconnects', async () => {
    const broker = await startBroker();
    const target = await startRecordingTarget();
    const lines: string[] = [];
    const t = await startMqttApp(broker, {}, { logger: capturingLogger(lines) });
    await register(t, 'astraea', target.url, ['hey astraea']);

    await broker.stop();
    await waitFor(() => t.app.mqtt.status === 'reconnecting', { what: 'the loss to be seen' });
    expect(await health(t)).toBe('reconnecting');
    expect(lines.some((l) => l.includes('MQTT connection lost; reconnecting'))).toBe(true);
    // HTTP is unaffected.
    const http = await t.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'desk', text: 'hey astraea are you there' },
    });
    expect(http.json()).toMatchObject({ forwarded: true });

    await broker.start();
    // The retry waits on the app's clock: nothing happens until it has passed.
    t.clock.advance(1);
    await waitFor(() => t.app.mqtt.status === 'connected', { what: 'the reconnect' });
    expect(await health(t)).toBe('connected');

    const satellite = await mqttClient(broker);
    const inbox = await subscribe(satellite, ['echonet/decision/#']);
    await satellite.publishAsync(
      'hermes/asr/textCaptured',
      JSON.stringify({ text: 'hey astraea hello again', likelihood: 1, seconds: 1, siteId: 'den' }),
    );
    expect(await inbox.next('echonet/decision/den')).toMatchObject({ forwarded: true });
  });

  it('starts with the broker down, serves HTTP, and joins once it is up (backing off)', async () => {
    const broker = await startBroker();
    await broker.stop();
    const lines: string[] = [];
    const t = await startTestApp(
      { ECHONET_MQTT_URL: broker.url },
      { logger: capturingLogger(lines) },
    );
    await t.app.mqtt.start();
    await waitFor(() => lines.some((l) => l.includes('MQTT connection failed; retrying')));
    expect(await health(t)).toBe('reconnecting');
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    // A second failed attempt waits twice as long (1 s, then 2 s), logged quietly.
    t.clock.advance(1);
    await waitFor(() => lines.some((l) => l.includes('MQTT connection still failing')));
    const retry = JSON.parse(lines.find((l) => l.includes('still failing'))!);
    expect(retry.retry_in_s).toBe(2);

    await broker.start();
    t.clock.advance(2);
    await waitFor(() => t.app.mqtt.status === 'connected', { what: 'the first connect' });
  });

  it('drops malformed, oversized and wrong-type messages, logging each kind once a minute', async () => {
    const broker = await startBroker();
    const lines: string[] = [];
    const t = await startMqttApp(broker, {}, { logger: capturingLogger(lines) });
    const client = await mqttClient(broker);
    const inbox = await subscribe(client, ['echonet/decision/#']);
    const bad: [string, string | Buffer][] = [
      ['echonet/text', 'not json {'],
      ['hermes/asr/textCaptured', '[1,2]'],
      ['echonet/text', Buffer.alloc(70 * 1024, 'a')],
      ['echonet/text', JSON.stringify({ source_id: 'x', text: 42 })],
      ['hermes/asr/textCaptured', JSON.stringify({ text: 'hi', siteId: 7, likelihood: 1 })],
      ['hermes/asr/textCaptured', JSON.stringify({ text: 'hi', siteId: 's', likelihood: 'high' })],
      ['echonet/text', JSON.stringify({ source_id: 'x', text: 'hi', confidence: 2 })],
    ];
    for (const [topic, payload] of bad) await client.publishAsync(topic, payload, { qos: 1 });
    // Still routing: a good message after the bad ones is answered.
    await client.publishAsync('echonet/text', JSON.stringify({ source_id: 'ok', text: 'hello' }));
    await inbox.next('echonet/decision/ok');
    await waitFor(() => dropped(lines, 'wrong_type').length === 1);
    expect(inbox.messages.map((m) => m.topic)).toEqual(['echonet/decision/ok']);

    expect(dropped(lines, 'malformed')).toHaveLength(1);
    expect(dropped(lines, 'oversized')).toHaveLength(1);
    expect(dropped(lines, 'wrong_type')).toHaveLength(1);
    expect(dropped(lines, 'oversized')[0]).toMatchObject({
      topic: 'echonet/text',
      bytes: 70 * 1024,
      problem: expect.stringContaining('at most 65536 bytes'),
    });
    expect(dropped(lines, 'wrong_type')[0].problem).toBe(
      'field text: expected a string of 1 to 500 characters',
    );

    // A minute later the next of a kind is logged again, with how many went unlogged.
    t.clock.advance(60);
    await client.publishAsync('echonet/text', JSON.stringify({ source_id: 'x' }), { qos: 1 });
    await waitFor(() => dropped(lines, 'wrong_type').length === 2);
    expect(dropped(lines, 'wrong_type')[1]).toMatchObject({ not_logged_since: 3 });
    // No stack trace for a publisher's mistake.
    expect(lines.some((l) => l.includes('"stack"'))).toBe(false);
  });

  it('never logs the password, from the setting or the URL, connected or not', async () => {
    const broker = await startBroker();
    const secret = 'pw-4f1c0a9e-never-in-a-log';
    const lines: string[] = [];
    const t = await startMqttApp(
      broker,
      {
        ECHONET_MQTT_URL: `mqtt://satellite:${secret}-url@127.0.0.1:${broker.port}`,
        ECHONET_MQTT_USERNAME: 'echonet',
        ECHONET_MQTT_PASSWORD: secret,
      },
      { logger: capturingLogger(lines) },
    );
    await broker.stop();
    await waitFor(() => t.app.mqtt.status === 'reconnecting');
    await broker.start();
    t.clock.advance(1);
    await waitFor(() => t.app.mqtt.status === 'connected');
    await t.close();
    expect(lines.some((l) => l.includes('MQTT connected'))).toBe(true);
    expect(lines.some((l) => l.includes(`127.0.0.1:${broker.port}`))).toBe(true);
    expect(lines.filter((l) => l.includes(secret))).toEqual([]);

    // Nor does a start-up error about the setting.
    expect(() => loadConfig({ ECHONET_MQTT_PASSWORD: `  ` }, { envFile: false })).toThrow(
      'ECHONET_MQTT_PASSWORD=(the value is not shown) is invalid',
    );
  });

  it('says why a login is refused, keeps retrying, and joins once the password is right', async () => {
    const right = 'pw-right-5e2b-never-logged';
    const wrong = 'pw-wrong-9d4c-never-logged';
    const broker = await startBroker({ user: { name: 'echonet', password: right } });
    const lines: string[] = [];
    const t = await startTestApp(
      {
        ECHONET_MQTT_URL: broker.url,
        ECHONET_MQTT_USERNAME: 'echonet',
        ECHONET_MQTT_PASSWORD: wrong,
      },
      { logger: capturingLogger(lines) },
    );
    await t.app.mqtt.start();
    const failed = await waitFor(() =>
      lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'MQTT connection failed; retrying'),
    );
    expect(failed.err).toMatch(/not authori[sz]ed/i);
    t.clock.advance(1);
    await waitFor(() => lines.some((l) => l.includes('MQTT connection still failing')));
    expect(t.app.mqtt.status).toBe('reconnecting');
    await t.close();
    expect(lines.filter((l) => l.includes(wrong) || l.includes(right))).toEqual([]);

    // The same broker lets the right password in.
    const ok = await startMqttApp(broker, {
      ECHONET_MQTT_USERNAME: 'echonet',
      ECHONET_MQTT_PASSWORD: right,
    });
    expect(ok.app.mqtt.status).toBe('connected');
  });

  it('refuses a broker URL it cannot use, naming the setting', () => {
    for (const url of ['http://broker:1883', 'broker.lan', 'mqtt://']) {
      expect(() => loadConfig({ ECHONET_MQTT_URL: url }, { envFile: false })).toThrow(
        /^ECHONET_MQTT_URL=.* is invalid: expected an mqtt:\/\/ or mqtts:\/\/ URL/,
      );
    }
    for (const prefix of ['a/+/b', '#', 'a//b', '$SYS']) {
      expect(() => loadConfig({ ECHONET_MQTT_TOPIC_PREFIX: prefix }, { envFile: false })).toThrow(
        /ECHONET_MQTT_TOPIC_PREFIX/,
      );
    }
  });
});
