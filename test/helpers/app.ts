/**
 * Builds a real Echonet app on a real SQLite file for a test, with a manual clock, and closes
 * everything afterwards. Use `inject` for most tests; end-to-end ones listen (listening-app.ts).
 */
import { afterFile } from './cleanup.js';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import type { Clock, Timer } from '../../src/clock.js';
import { loadSettings, type Config, type LoadedConfig } from '../../src/config.js';
import type { TableBuilder } from '../../src/routing/table-builder.js';
import type { EventSink } from '../../src/store/event-sink.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDbPath } from './temp.js';

export const API_KEY = 'test-api-key-0123456789abcdef';
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/**
 * A clock the test moves by hand. Timers set with `after` fire, in the order they fall due and
 * with `now()` reading their due time, when `advance` moves past it.
 */
export class ManualClock implements Clock {
  #timers: { due: number; seq: number; fn: () => void }[] = [];
  #seq = 0;
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  after(ms: number, fn: () => void): Timer {
    const timer = { due: this.ms + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return { cancel: () => void (this.#timers = this.#timers.filter((t) => t !== timer)) };
  }
  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
  advance(seconds: number): void {
    const end = this.ms + seconds * 1000;
    for (;;) {
      const next = this.#timers
        .filter((t) => t.due <= end)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.ms = Math.max(this.ms, next.due);
      next.fn();
    }
    this.ms = end;
  }
}

/**
 * A Config as loaded from these variables (no .env file), with test-friendly defaults. The HTTP
 * timeout is long so that a loaded machine never turns a working forward into a timeout; tests
 * about timeouts set their own.
 */
export function testConfig(env: Record<string, string> = {}): Config {
  return testSettings(env).config;
}

/** testConfig, with the settings these variables gave (GET /config's `origin`). */
export function testSettings(env: Record<string, string> = {}): LoadedConfig {
  return loadSettings(
    { ECHONET_API_KEY: API_KEY, ECHONET_LOG_LEVEL: 'silent', ECHONET_HTTP_TIMEOUT_S: '30', ...env },
    { envFile: false },
  );
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly clock: ManualClock;
  readonly config: Config;
  /** inject() with the API key (and admin key, if configured) already set. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly dbPath?: string;
  readonly watchIntervalMs?: number;
  /** How the app builds its routing tables (default: inline), given the app's store. */
  readonly tableBuilder?: (store: Store) => TableBuilder;
  /** Where the decision log writes (default: the store's connection), given the app's store. */
  readonly eventSink?: (store: Store) => EventSink;
  /** Pino options for the app's log (default: no log). */
  readonly logger?: Record<string, unknown>;
  /** GET /events/stream's heartbeat and slow-client bound. */
  readonly eventStream?: AppDeps['eventStream'];
  /** Hears of every conversation started and ended. */
  readonly onSession?: AppDeps['onSession'];
  /** The built console to serve (test/console builds one into a temp folder). */
  readonly consoleDir?: string;
  /** The MQTT front end's state for GET /metrics and GET /front-ends. */
  readonly mqttStatus?: AppDeps['mqttStatus'];
}

export async function startTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const { config, fromEnv } = testSettings({
    ECHONET_DB_PATH: options.dbPath ?? tempDbPath(),
    ...env,
  });
  const store = openStore(config.dbPath);
  const clock = new ManualClock();
  const app = await buildApp(config, {
    store,
    fromEnv,
    clock,
    logger: options.logger ?? false,
    watchIntervalMs: options.watchIntervalMs ?? 50,
    tableBuilder: options.tableBuilder?.(store),
    eventSink: options.eventSink?.(store),
    eventStream: options.eventStream,
    onSession: options.onSession,
    consoleDir: options.consoleDir,
    mqttStatus: options.mqttStatus,
  });
  await app.ready();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    store.close();
  };
  afterFile(close);
  return {
    app,
    store,
    clock,
    config,
    request(opts) {
      const headers: Record<string, string> = { 'x-api-key': API_KEY };
      if (config.adminKey !== undefined) headers['x-admin-key'] = config.adminKey;
      return app.inject({
        ...opts,
        headers: { ...headers, ...(opts.headers as Record<string, string>) },
      });
    },
    close,
  };
}

interface Registered {
  readonly statusCode: number;
  readonly body: string;
}

/** Registers a target through the API (inject or HTTP) and fails the test if that did not work. */
export async function register(
  t: { request(options: { method: 'POST'; url: string; payload: object }): Promise<Registered> },
  name: string,
  baseUrl: string,
  phrases: string[],
): Promise<void> {
  const res = await t.request({
    method: 'POST',
    url: '/register',
    payload: { name, base_url: baseUrl, phrases },
  });
  if (res.statusCode !== 200) throw new Error(`register ${name}: ${res.statusCode} ${res.body}`);
}
