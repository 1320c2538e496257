/**
 * `echonet serve` from the bundle (dist/echonet.mjs, MQTT.js in dist/mqtt.mjs beside it) joins the
 * broker, routes a textCaptured, and stops cleanly on SIGTERM; without ECHONET_MQTT_URL it never
 * loads MQTT.js.
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/cli.js';
import { mqttClient, startBroker, subscribe } from '../helpers/mqtt-broker.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const health = async (url: string) =>
  ((await (await fetch(`${url}/health`)).json()) as { mqtt: string }).mqtt;

describe('echonet serve with MQTT', () => {
  it('joins the broker from the bundle and answers over MQTT', async () => {
    const broker = await startBroker();
    const server = await startServer({
      ECHONET_DB_PATH: tempDbPath(),
      ECHONET_API_KEY: 'serve-test-key-0123456789',
      ECHONET_MQTT_URL: broker.url,
    });
    try {
      await waitFor(async () => (await health(server.url)) === 'connected');
      const client = await mqttClient(broker);
      const inbox = await subscribe(client, ['echonet/decision/#']);
      await client.publishAsync(
        'hermes/asr/textCaptured',
        JSON.stringify({ text: 'hello there', likelihood: 1, seconds: 1, siteId: 'attic' }),
      );
      expect(await inbox.next('echonet/decision/attic')).toMatchObject({ mode: 'idle' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).toContain('"msg":"MQTT connected"');
  });

  it('says off, and logs nothing of MQTT, without a broker URL', async () => {
    const server = await startServer({
      ECHONET_DB_PATH: tempDbPath(),
      ECHONET_API_KEY: 'serve-test-key-0123456789',
    });
    try {
      expect(await health(server.url)).toBe('off');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toContain('MQTT');
  });
});
