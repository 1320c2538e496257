/**
 * A real MQTT broker for a test, on 127.0.0.1 and a free port (bench/lib/broker.ts): Mosquitto when
 * its binary is on this machine (`.ci/run` installs Debian's), otherwise an in-process aedes
 * broker, so `npm test` passes on a fresh machine too. Either can be stopped and started again on
 * the same port (the reconnect tests); it is removed after the file. A test's own clients too.
 */
import { afterFile } from './cleanup.js';
import { connectAsync, type MqttClient } from 'mqtt';
import { brokerOn, type Broker, type BrokerOptions } from '../../bench/lib/broker.js';
import { freePort } from '../../bench/lib/procs.js';
import { waitFor } from './wait.js';

export type { Broker };

export async function startBroker(options: Pick<BrokerOptions, 'user'> = {}): Promise<Broker> {
  // TEST_MQTT_BROKER=aedes runs the fallback even where Mosquitto is installed.
  const kind = process.env.TEST_MQTT_BROKER === 'aedes' ? 'aedes' : undefined;
  const broker = brokerOn(await freePort(), { ...options, kind });
  await broker.start();
  afterFile(() => broker.dispose());
  return broker;
}

/** A test's own MQTT client (a satellite, a flow), disconnected after the file. */
export async function mqttClient(broker: Broker): Promise<MqttClient> {
  const client = await connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
  afterFile(() => client.endAsync(true));
  return client;
}

/** Messages a client received on the topics it subscribed to, and a wait for the next ones. */
export interface Inbox {
  readonly messages: { topic: string; json: unknown }[];
  /** Resolves with the first message on `topic` (after `skip` earlier ones) once it arrives. */
  next(topic: string, skip?: number): Promise<unknown>;
  /** Messages on `topic` so far. */
  on(topic: string): unknown[];
}

export async function subscribe(client: MqttClient, topics: string[]): Promise<Inbox> {
  const messages: { topic: string; json: unknown }[] = [];
  client.on('message', (topic, payload) => {
    let json: unknown = payload.toString('utf8');
    try {
      json = JSON.parse(json as string);
    } catch {
      // Keep the text.
    }
    messages.push({ topic, json });
  });
  await client.subscribeAsync(topics, { qos: 1 });
  const on = (topic: string) => messages.filter((m) => m.topic === topic).map((m) => m.json);
  return {
    messages,
    on,
    next: (topic, skip = 0) =>
      waitFor(() => on(topic)[skip], { what: `message ${skip + 1} on ${topic}` }),
  };
}
