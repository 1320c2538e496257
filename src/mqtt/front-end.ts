/**
 * The MQTT front end as the app holds it: built with the app (nothing loaded, nothing connected),
 * started by `echonet serve` (or a test), closed with the app. Each message on
 * `hermes/asr/textCaptured` or `<prefix>/text` becomes one TextHandler.handle call (front end
 * `mqtt`); its answer goes out on `<prefix>/decision/<source_id>`, a reply on `hermes/tts/say`, and
 * the conversations MQTT utterances open and end as Hermes' sessionStarted / sessionEnded. A Hermes
 * wake word (`hermes/hotword/<id>/detected`) opens the site's microphone (`asr/startListening`), as
 * Rhasspy's own dialogue manager would, since Echonet takes its place.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SessionEvent, SessionListener } from '../routing/sessions.js';
import type { TextInput, TextResult } from '../routing/text-handler.js';
import { MqttConnection, type MqttLog, type MqttStatus } from './connection.js';
import {
  HERMES_SESSION_ENDED,
  HERMES_SESSION_STARTED,
  HERMES_START_LISTENING,
  HERMES_TTS_SAY,
  isProblem,
  isWake,
  parseMessage,
  sessionEnded,
  sessionStarted,
  startListening,
  topicsFor,
  ttsSay,
  type Topics,
} from './messages.js';
import { ProblemLog } from './problem-log.js';

export interface MqttFrontEndOptions {
  readonly config: Pick<
    Config,
    'mqttUrl' | 'mqttUsername' | 'mqttPassword' | 'mqttClientId' | 'mqttTopicPrefix'
  >;
  readonly handler: {
    handle(input: TextInput): Promise<TextResult>;
    /** Where conversations are announced as they open and end (expiry included). */
    readonly sessions: { listen(listener: SessionListener): () => void };
  };
  readonly clock: Clock;
  readonly log: MqttLog & { error(obj: object, msg: string): void };
  /** Reconnection backoff (default 1 s doubling to 30 s). */
  readonly backoffMs?: { readonly first: number; readonly max: number };
}

export class MqttFrontEnd {
  readonly topics: Topics;
  readonly #options: MqttFrontEndOptions;
  readonly #connection: MqttConnection | undefined;
  readonly #problems: ProblemLog;
  /** Utterances being routed; close() lets them finish and publish their answers. */
  readonly #inflight = new Set<Promise<void>>();
  /** Per MQTT source: utterances in flight, and the id of the conversation last opened. */
  readonly #pending = new Map<string, number>();
  readonly #opened = new Map<string, string>();
  #closing = false;
  /** Stops hearing of sessions (listening only while started, so an app without MQTT pays none). */
  #unlisten: (() => void) | undefined;

  constructor(options: MqttFrontEndOptions) {
    this.#options = options;
    const { config, clock, log } = options;
    this.topics = topicsFor(config.mqttTopicPrefix);
    this.#problems = new ProblemLog(clock, log);
    this.#connection =
      config.mqttUrl === undefined
        ? undefined
        : new MqttConnection({
            url: config.mqttUrl,
            username: config.mqttUsername,
            password: config.mqttPassword,
            clientId: config.mqttClientId ?? `echonet-${randomBytes(6).toString('hex')}`,
            subscriptions: this.topics.subscriptions,
            clock,
            log,
            onMessage: (topic, payload) => this.#message(topic, payload),
            ...(options.backoffMs && { backoffMs: options.backoffMs }),
          });
  }

  /** `off` without ECHONET_MQTT_URL (or before start / after close). */
  get status(): MqttStatus {
    return this.#connection?.status ?? 'off';
  }

  /** Starts connecting (when a broker is configured); never waits for the broker. */
  async start(): Promise<void> {
    if (this.#connection === undefined || this.#closing) return;
    this.#options.log.info({ broker: this.#connection.where }, 'MQTT front end starting');
    this.#unlisten ??= this.#options.handler.sessions.listen(this.onSession);
    await this.#connection.start();
  }

  /** Hears every conversation opened and ended; tells Hermes of those MQTT utterances opened. */
  readonly onSession = (event: SessionEvent): void => {
    if (event.frontEnd !== 'mqtt' || this.#connection === undefined) return;
    const { id, sourceId, target } = event.session;
    if (event.kind === 'started') {
      this.#opened.set(sourceId, id);
      this.#publish(HERMES_SESSION_STARTED, sessionStarted(id, sourceId, target));
      return;
    }
    // Kept while an utterance of the source is in flight: its tts/say names the conversation.
    if (!this.#pending.has(sourceId) && this.#opened.get(sourceId) === id) {
      this.#opened.delete(sourceId);
    }
    this.#publish(HERMES_SESSION_ENDED, sessionEnded(id, sourceId, target, event.reason));
  };

  /** Takes no more messages, lets the ones being routed publish their answers, disconnects. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#inflight);
    this.#unlisten?.();
    this.#unlisten = undefined;
    await this.#connection?.close();
  }

  #message(topic: string, payload: Buffer): void {
    if (this.#closing) return;
    const input = parseMessage(topic, payload, this.topics);
    if (input === null) return;
    if (isProblem(input)) {
      this.#problems.note(
        input.kind,
        { topic, bytes: payload.length, problem: input.message },
        'MQTT message dropped',
      );
      return;
    }
    if (isWake(input)) {
      // An id of its own, which the ASR hands back in textCaptured (kept in the decision log).
      this.#publish(HERMES_START_LISTENING, startListening(input.siteId, randomUUID()));
      return;
    }
    const work = this.#route(input).finally(() => this.#inflight.delete(work));
    this.#inflight.add(work);
  }

  async #route(input: TextInput): Promise<void> {
    const source = input.source_id;
    this.#pending.set(source, (this.#pending.get(source) ?? 0) + 1);
    let result: TextResult | undefined;
    try {
      result = await this.#options.handler.handle(input);
    } catch (err) {
      this.#options.log.error({ err, source_id: source }, 'MQTT utterance failed');
    }
    const left = (this.#pending.get(source) ?? 1) - 1;
    if (left > 0) this.#pending.set(source, left);
    else this.#pending.delete(source);
    if (result === undefined) return;
    const opened = this.#opened.get(source);
    if (result.session === null && left === 0) this.#opened.delete(source);
    this.#publish(this.topics.decision(source), JSON.stringify(result));
    if (result.reply !== null) {
      // The conversation the reply belongs to: still open, or opened by this utterance and ended
      // by the target's end_session (then the result has no session, and the event named it).
      const sessionId =
        result.session?.id ??
        (result.mode === 'dispatch_once' || result.mode === 'idle' ? '' : (opened ?? ''));
      this.#publish(HERMES_TTS_SAY, ttsSay(result.reply, source, result.event_id ?? '', sessionId));
    }
  }

  #publish(topic: string, payload: string): void {
    if (this.#connection?.publish(topic, payload, 1)) return;
    this.#problems.note(
      'not_connected',
      { topic },
      'MQTT broker not connected; messages out are dropped until it is',
    );
  }
}
