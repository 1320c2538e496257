/**
 * A real MQTT broker for a test, on 127.0.0.1 and a free port: Mosquitto when its binary is on
 * this machine (`/usr/sbin/mosquitto`, or `mosquitto` in PATH; `.ci/run` installs Debian's),
 * otherwise an in-process aedes broker, so `npm test` passes on a fresh machine too. Either can be
 * stopped and started again on the same port (the reconnect tests), and is stopped after the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { delimiter, join } from 'node:path';
import { afterAll } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import { tempDir } from './temp.js';
import { waitFor } from './wait.js';

export interface Broker {
  readonly kind: 'mosquitto' | 'aedes';
  readonly port: number;
  readonly url: string;
  /** Stops the broker: every client loses its connection. */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
}

/** The Mosquitto binary, if this machine has one. */
export function mosquittoPath(): string | undefined {
  const candidates = [
    '/usr/sbin/mosquitto',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'mosquitto')),
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not here; the next one.
    }
  }
  return undefined;
}

export async function startBroker(): Promise<Broker> {
  const port = await freePort();
  // TEST_MQTT_BROKER=aedes runs the fallback even where Mosquitto is installed.
  const binary = process.env.TEST_MQTT_BROKER === 'aedes' ? undefined : mosquittoPath();
  const broker = binary ? mosquitto(binary, port) : aedes(port);
  await broker.start();
  afterAll(() => broker.stop());
  return broker;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on the port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function mosquitto(binary: string, port: number): Broker {
  const conf = join(tempDir('echonet-mqtt-'), 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_type none',
    ].join('\n') + '\n',
  );
  let child: ChildProcess | undefined;
  return {
    kind: 'mosquitto',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      const started = spawn(binary, ['-c', conf], { stdio: 'ignore' });
      child = started;
      let exited = false;
      started.once('exit', () => (exited = true));
      await waitFor(
        async () => {
          if (exited) throw new Error(`mosquitto exited at start on port ${port}`);
          return accepting(port);
        },
        { what: `mosquitto to accept connections on port ${port}` },
      );
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
}

function aedes(port: number): Broker {
  let server: Server | undefined;
  let close: (() => Promise<void>) | undefined;
  return {
    kind: 'aedes',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      if (server) return;
      const { Aedes } = await import('aedes');
      const broker = await Aedes.createBroker();
      const sockets = new Set<Socket>();
      server = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        broker.handle(socket);
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', resolve);
      });
      close = async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => s.close(resolve));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      };
    },
    async stop() {
      const c = close;
      server = undefined;
      close = undefined;
      await c?.();
    },
  };
}

/** A test's own MQTT client (a satellite, a flow), disconnected after the file. */
export async function mqttClient(broker: Broker): Promise<MqttClient> {
  const client = await connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
  afterAll(() => client.endAsync(true));
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
