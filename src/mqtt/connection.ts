/**
 * The MQTT client's lifecycle, and nothing about what the messages mean: MQTT.js loaded only when
 * a broker is configured (an Echonet without MQTT never pays for it), one connection, the
 * subscriptions made again on every connect, and reconnection with backoff on the app's clock (a
 * broker down at start-up or lost later is retried for as long as Echonet runs; HTTP and Wyoming
 * never wait for it). The password goes to the broker and nowhere else: not in a log line, not in
 * the URL this shows.
 */
import type { Socket } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Clock, Timer } from '../clock.js';

export type MqttStatus = 'connected' | 'reconnecting' | 'off';

/** The log lines this writes (pino's shape). */
export interface MqttLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ConnectionOptions {
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly clientId: string;
  readonly subscriptions: readonly string[];
  readonly clock: Clock;
  readonly log: MqttLog;
  readonly onMessage: (topic: string, payload: Buffer) => void;
  /** First and longest wait between attempts, in ms (default 1 s, doubling to 30 s). */
  readonly backoffMs?: { readonly first: number; readonly max: number };
}

const DEFAULT_BACKOFF = { first: 1000, max: 30_000 };
/** How long close() waits for messages in flight to be acknowledged before it drops them. */
const CLOSE_GRACE_MS = 2000;

export class MqttConnection {
  readonly #options: ConnectionOptions;
  #client: MqttClient | undefined;
  #status: MqttStatus = 'off';
  #retry: Timer | undefined;
  #nextWaitMs: number;
  /** Failed attempts since the last connection (only the first is a warning). */
  #failures = 0;
  #closed = false;
  #lastError: string | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#nextWaitMs = (options.backoffMs ?? DEFAULT_BACKOFF).first;
  }

  get status(): MqttStatus {
    return this.#status;
  }

  /** The broker's address for logs: scheme, host and port, never credentials. */
  get where(): string {
    return safeUrl(this.#options.url);
  }

  /** Loads MQTT.js and starts connecting; resolves without waiting for the broker. */
  async start(): Promise<void> {
    if (this.#client || this.#closed) return;
    const { connect } = await import('mqtt');
    if (this.#closed) return;
    const { username, password, clientId } = this.#options;
    const options: IClientOptions = {
      clientId,
      clean: true,
      // Reconnection is ours (backoff on the app's clock); MQTT.js would retry at a fixed period.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false,
      ...(username !== undefined && { username }),
      ...(password !== undefined && { password }),
    };
    this.#status = 'reconnecting';
    const client = connect(this.#options.url, options);
    this.#client = client;
    client.on('connect', () => this.#connected(client));
    client.on('close', () => this.#lost());
    // Said with the next retry (a refused login, a TLS problem), so the warning says why.
    client.on('error', (err) => (this.#lastError = err.message));
    client.on('message', (topic, payload) => this.#options.onMessage(topic, payload));
  }

  /**
   * Sends a message if the broker is connected now; false when it is not (the message is dropped
   * rather than queued without bound while the broker is away).
   */
  publish(topic: string, payload: string, qos: 0 | 1): boolean {
    const client = this.#client;
    if (this.#status !== 'connected' || client === undefined) return false;
    client.publish(topic, payload, { qos }, (err) => {
      if (err) this.#options.log.debug({ err: err.message, topic }, 'MQTT publish not delivered');
    });
    return true;
  }

  /** Stops reconnecting and disconnects, giving messages in flight a moment to be acknowledged. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#retry?.cancel();
    this.#retry = undefined;
    const client = this.#client;
    this.#status = 'off';
    if (client === undefined) return;
    if (!client.connected) {
      await client.endAsync(true);
      return;
    }
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      client.endAsync(false),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, CLOSE_GRACE_MS);
        grace.unref();
      }),
    ]);
    clearTimeout(grace);
    if (!client.disconnected) await client.endAsync(true);
  }

  /** Connected: subscribes, and counts as connected once the broker has confirmed it. */
  #connected(client: MqttClient): void {
    // Each answer is one small packet: sent at once, not held back by Nagle's algorithm until the
    // broker's delayed ACK (a 40 ms stall per decision, measured).
    (client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
    this.#failures = 0;
    this.#nextWaitMs = (this.#options.backoffMs ?? DEFAULT_BACKOFF).first;
    client.subscribe([...this.#options.subscriptions], { qos: 1 }, (err) => {
      if (this.#closed || !client.connected) return;
      // Said `connected` only now, so whoever publishes after seeing it is heard.
      this.#status = 'connected';
      if (err) {
        this.#options.log.warn(
          { err: err.message, broker: this.where },
          'MQTT subscribe failed; utterances over MQTT are not heard until the next connect',
        );
      } else {
        this.#options.log.info({ broker: this.where }, 'MQTT connected');
      }
    });
  }

  /** The connection closed (or an attempt failed): try again after the next backoff step. */
  #lost(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const wasConnected = this.#status === 'connected';
    this.#status = 'reconnecting';
    const waitMs = this.#nextWaitMs;
    const max = (this.#options.backoffMs ?? DEFAULT_BACKOFF).max;
    this.#nextWaitMs = Math.min(max, waitMs * 2);
    this.#failures++;
    const fields = {
      broker: this.where,
      retry_in_s: waitMs / 1000,
      ...(this.#lastError !== undefined && { err: this.#lastError }),
    };
    this.#lastError = undefined;
    if (wasConnected) this.#options.log.warn(fields, 'MQTT connection lost; reconnecting');
    else if (this.#failures === 1)
      this.#options.log.warn(fields, 'MQTT connection failed; retrying');
    else this.#options.log.debug(fields, 'MQTT connection still failing');
    this.#retry = this.#options.clock.after(waitMs, () => {
      this.#retry = undefined;
      if (!this.#closed) this.#client?.reconnect();
    });
  }
}

/** `mqtt://user:secret@host:1883/x` → `mqtt://host:1883`. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(an invalid URL)';
  }
}
