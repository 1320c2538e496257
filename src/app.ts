/**
 * buildApp(config, deps) → a Fastify instance that is ready but not listening. Only the CLI's
 * `serve` listens; tests build as many apps as they like and talk to them with inject().
 */
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type RouteOptions,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { registerAccess, type AccessGate } from './http/access.js';
import { ApiKeyRing, registerAuth } from './http/auth.js';
import { answerUnroutable, registerErrorHandling } from './http/errors.js';
import { configRoutes } from './http/config.js';
import { consoleRoutes } from './http/console.js';
import { discoveryInfo } from './discovery.js';
import { handshakeRoutes } from './http/handshake.js';
import { eventRoutes, type EventStreamOptions } from './http/events.js';
import { frontEndRoutes } from './http/front-ends.js';
import { healthRoutes } from './http/health.js';
import { registerJsonBody } from './http/json-body.js';
import { keyRoutes } from './http/keys.js';
import { metricsRoutes, registerRequestCounting } from './http/metrics.js';
import { registerOpenApi } from './http/openapi.js';
import { sessionRoutes } from './http/sessions.js';
import { stateRoutes } from './http/state.js';
import { targetRoutes } from './http/targets.js';
import { textRoutes } from './http/text.js';
import { MetricsExposition } from './metrics/exposition.js';
import { MetricTallies } from './metrics/tallies.js';
import { DecisionLog } from './routing/decision-log.js';
import type { EventSink } from './store/event-sink.js';
import { createForwarder, type Forwarder } from './delivery/forwarder.js';
import { ListenModes } from './routing/listen-modes.js';
import type { RoutingTable } from './routing/routing-table.js';
import { inlineTableBuilder, type TableBuilder } from './routing/table-builder.js';
import { TextHandler } from './routing/text-handler.js';
import type { Rooms } from './routing/rooms.js';
import type { SessionListener } from './routing/sessions.js';
import { registrationPolicy } from './registration.js';
import { RuntimeSettings } from './runtime-settings.js';
import { GENERATED_API_KEY } from './store/secrets.js';
import type { Store } from './store/store.js';
import { VERSION } from './version.js';
import { WyomingFrontEnd } from './wyoming/front-end.js';
import { MqttFrontEnd } from './mqtt/front-end.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Rooms (duplicate-wake arbitration, echo suppression): known sources, what is waiting. */
    readonly rooms: Rooms;
    /** The Wyoming handle service: built with the app, listening only once serve (or a test) says. */
    readonly wyoming: WyomingFrontEnd;
    /** The MQTT front end: built with the app, connecting only once serve (or a test) starts it. */
    readonly mqtt: MqttFrontEnd;
  }
}

export const BODY_LIMIT_BYTES = 64 * 1024;

/** Never written to a log, whatever logs a request or its headers. */
export const LOG_REDACT = [
  'req.headers["x-api-key"]',
  'req.headers["x-admin-key"]',
  'req.headers.authorization',
  'headers["x-api-key"]',
  'headers["x-admin-key"]',
  'headers.authorization',
];

/**
 * Pino's request serializer: Fastify's fields for a request, with the `key` query parameter
 * (GET /events/stream?key=) masked; anything else logged as `req` passes through as it is, its
 * `url` masked too.
 */
export function requestForLog(request: object): Record<string, unknown> {
  const req = request as Record<string, unknown>;
  const url = typeof req.url === 'string' ? maskQueryKey(req.url) : req.url;
  if (!('raw' in req)) return { ...req, url };
  return {
    method: req.method,
    url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: (req.socket as { remotePort?: number } | undefined)?.remotePort,
  };
}

function maskQueryKey(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, '$1[Redacted]');
}

export interface AppDeps {
  readonly store: Store;
  readonly clock?: Clock;
  /** Defaults to an undici forwarder with the configured timeout, closed with the app. */
  readonly forwarder?: Forwarder;
  /** Pino options (merged over the defaults; redaction always applies) or false. */
  readonly logger?: boolean | Record<string, unknown>;
  /** How often to look for registry changes made by other processes. */
  readonly watchIntervalMs?: number;
  /**
   * Builds routing tables after registry changes (closed with the app). Default: inline on the
   * main thread, which suits small registries and tests; `serve` passes a WorkerTableBuilder.
   */
  readonly tableBuilder?: TableBuilder;
  /** A first build already started with `tableBuilder` (serve starts it before building the app). */
  readonly initialTable?: Promise<RoutingTable>;
  /**
   * The live settings (the `config` table over the environment); `serve` makes them before the
   * first table, which uses their match options. Default: read from `store` now.
   */
  readonly runtime?: RuntimeSettings;
  /** With no `runtime`: the settings a variable gave, for GET /config's `origin`. */
  readonly fromEnv?: ReadonlySet<keyof Config>;
  /** True while serve's mDNS advertisement is up (GET /handshake reports it); default: never. */
  readonly advertised?: () => boolean;
  /** GET /events/stream's heartbeat and slow-client bound (defaults in src/http/events.ts). */
  readonly eventStream?: EventStreamOptions;
  /**
   * Where the decision log writes (closed with the app). Default: on this thread, through the
   * store's connection; `serve` passes a WorkerEventSink so the writes stay off the event loop.
   */
  readonly eventSink?: EventSink;
  /** Hears of every conversation started and ended (tests; front ends use handler.sessions.listen). */
  readonly onSession?: SessionListener;
  /**
   * The MQTT front end's state for GET /metrics and GET /front-ends (`connected`, `reconnecting`,
   * `off`); absent: the
   * app's own MQTT front end's (`app.mqtt.status`).
   */
  readonly mqttStatus?: () => string;
  /**
   * Told of every route as it is added, before any is: the API documentation's test walks them
   * all to find any the document misses.
   */
  readonly onRoute?: (route: RouteOptions) => void;
  /** The built web console served at /console/; default: dist/console/ next to the code. */
  readonly consoleDir?: string;
}

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const runtime =
    deps.runtime ??
    new RuntimeSettings(config, store.config, deps.fromEnv && { fromEnv: deps.fromEnv });
  const forwarder =
    deps.forwarder ??
    createForwarder({
      timeoutMs: () => Math.round(runtime.values.httpTimeoutS * 1000),
      connectionsPerTarget: config.targetMaxInflight,
    });

  // Filled in once the access checks are registered; frameworkErrors only runs after ready().
  const access: { gate?: AccessGate } = {};
  const app = Fastify({
    logger:
      deps.logger === false
        ? false
        : {
            level: config.logLevel,
            ...(typeof deps.logger === 'object' && deps.logger),
            redact: LOG_REDACT,
            serializers: { req: requestForLog },
          },
    // X-Forwarded-For counts only when it comes from a proxy named in ECHONET_TRUST_PROXY.
    trustProxy: config.trustProxy === undefined ? false : [...config.trustProxy],
    bodyLimit: BODY_LIMIT_BYTES,
    // One line per request would dominate the hot path; decisions are logged where they matter.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies are never coerced: a number where text belongs is an error, not "123".
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    return503OnClosing: true,
    // Malformed URLs never reach a hook, route or the error handler: the allowlist and rate limits
    // are applied here too (the same checks, through the gate), and the answer has the same shape.
    frameworkErrors: (error, request, reply) =>
      void answerUnroutable(error, request, reply as FastifyReply, access.gate),
  }).withTypeProvider<TypeBoxTypeProvider>();
  if (deps.onRoute) app.addHook('onRoute', deps.onRoute);

  registerJsonBody(app);
  registerErrorHandling(app);
  // Headers, allowlist and rate limits first: a refused client never reaches the key check.
  access.gate = await registerAccess(app, config);
  const apiKeys = new ApiKeyRing(apiKeysFor(config, store), store.keys);
  registerAuth(app, { apiKeys, adminKey: config.adminKey });
  const tallies = new MetricTallies();
  registerRequestCounting(app, tallies);
  // Before any route: the document is made from the routes as they are added.
  await registerOpenApi(app, { version: VERSION, config });

  const inline = inlineTableBuilder(
    () => store.targets.snapshot(),
    () => runtime.match,
  );
  const builder = deps.tableBuilder ?? inline;
  let table: RoutingTable;
  try {
    table = await (deps.initialTable ?? builder.build());
  } catch (err) {
    // Without a first table nothing can route: build it here rather than refuse to start.
    app.log.error({ err }, 'routing table build failed; building it on the main thread');
    table = await inline.build();
  }
  const live = runtime.values;
  const listenModes = new ListenModes(store.settings, {
    clock,
    activeTimeoutS: () => runtime.values.activeTimeoutS,
    onError: (err) =>
      app.log.error({ err }, 'could not store the end of an active listen mode; it ended anyway'),
  });
  const before = listenModes.view().global.mode;
  listenModes.start(config.initialListenMode);
  if (before !== config.initialListenMode) {
    app.log.info(
      { from: before, to: config.initialListenMode },
      'listen mode set from ECHONET_INITIAL_LISTEN_MODE',
    );
  }
  const decisionLog = new DecisionLog({
    level: config.eventLog,
    retentionDays: config.eventRetentionDays,
    maxRows: config.eventMaxRows,
    sink: deps.eventSink ?? store.events,
    clock,
    onError: (err, dropped) =>
      app.log.warn(
        { err, dropped },
        dropped > 0
          ? 'decision log: decisions dropped, the database refuses writes'
          : 'decision log: write failed; will retry',
      ),
  });
  const handler = new TextHandler(table, builder, {
    sessionTimeoutS: live.sessionTimeoutS,
    sourceRooms: live.sourceRooms,
    arbitrationWindowMs: live.arbitrationWindowMs,
    echoWindowS: live.echoWindowS,
    cancelPhrases: live.cancelPhrases,
    stripTrigger: live.forwardStripTrigger,
    fallbackTarget: live.fallbackTarget,
    matchNames: live.matchNames,
    defaultTarget: live.defaultTarget,
    match: runtime.match,
    clock,
    forwarder,
    listenModes,
    onSession: deps.onSession,
    // Both listeners only count or queue: the decision costs them well under a microsecond.
    onDecision: (record) => {
      tallies.decision(record);
      decisionLog.record(record);
    },
    onWarning: (message) => app.log.warn(message),
    targetLimits: {
      maxInflight: config.targetMaxInflight,
      breakerFailures: config.breakerFailures,
      breakerCooldownS: config.breakerCooldownS,
    },
    onBuildError: (err) =>
      app.log.error({ err }, 'routing table rebuild failed; the previous table keeps routing'),
  });
  const wyoming = new WyomingFrontEnd({
    config,
    handler,
    version: VERSION,
    clock,
    httpTimeoutS: () => runtime.values.httpTimeoutS,
    bindings: () => runtime.values.wyomingBindings,
    log: app.log,
  });
  app.decorate('rooms', handler.rooms);
  app.decorate('wyoming', wyoming);
  const mqtt = new MqttFrontEnd({ config, handler, clock, log: app.log });
  const mqttStatus = deps.mqttStatus ?? (() => mqtt.status);
  app.decorate('mqtt', mqtt);
  // Wyoming stops taking connections when the HTTP server does, and drains alongside it.
  let wyomingClosed: Promise<void> | undefined;
  let mqttClosed: Promise<void> | undefined;
  app.addHook('preClose', (done) => {
    wyomingClosed = wyoming.close();
    mqttClosed = mqtt.close();
    done();
  });
  let policy = registrationPolicy(config.targetHosts, live.cancelPhrases);
  // A changed setting applies from the next utterance; match settings need a new routing table,
  // built like one after a registry change (PUT /config answers once it is live).
  const stopRuntime = runtime.onChange((changed) => {
    const values = runtime.values;
    handler.reconfigure({
      sourceRooms: values.sourceRooms,
      arbitrationWindowMs: values.arbitrationWindowMs,
      echoWindowS: values.echoWindowS,
      sessionTimeoutS: values.sessionTimeoutS,
      cancelPhrases: values.cancelPhrases,
      stripTrigger: values.forwardStripTrigger,
      fallbackTarget: values.fallbackTarget,
      matchNames: values.matchNames,
      defaultTarget: values.defaultTarget,
    });
    if (changed.has('cancelPhrases')) {
      policy = registrationPolicy(config.targetHosts, values.cancelPhrases);
    }
    if (changed.has('matchFuzzy') || changed.has('matchMinScore')) handler.registryChanged();
    if (changed.has('activeTimeoutS')) listenModes.timeoutChanged();
    // Opens and closes ports in the background (a port in use is logged, not thrown).
    if (changed.has('wyomingBindings')) void wyoming.rebind();
  });
  const stopWarnings = runtime.onWarning((message) => app.log.warn(message));
  const reload = () => handler.registryChanged();
  const stopLocal = store.targets.onChange(reload);
  // One watch for every commit another connection makes (`echonet keys`, `echonet restore`,
  // another server, the Python service, this server's decision-log writer): keys, listen modes and
  // settings are read again (a few small reads), targets another writer changed are re-indexed
  // now rather than by the next registration, and the routing table is rebuilt only when the
  // targets changed.
  const stopExternal = store.watchExternalChanges(() => {
    try {
      apiKeys.reload();
    } catch (err) {
      app.log.error({ err }, 'could not read the stored API keys; keeping the ones already read');
    }
    try {
      listenModes.reload();
    } catch (err) {
      app.log.error(
        { err },
        'could not read the stored listen modes; keeping the ones already read',
      );
    }
    try {
      store.targets.repairPhraseIndex();
    } catch (err) {
      app.log.warn({ err }, 'could not re-index phrases changed by another writer; will retry');
    }
    try {
      runtime.reload();
    } catch (err) {
      app.log.error({ err }, 'could not read the config table; keeping the settings already read');
    }
    // Only a change to the targets needs a new routing table: the decision log's writer commits
    // every few milliseconds, and each of its commits wakes this watch too.
    let targetsChanged = true;
    try {
      targetsChanged = store.targets.changedElsewhere();
    } catch (err) {
      app.log.warn({ err }, 'could not read the registry change counter; rebuilding to be safe');
    }
    if (targetsChanged) reload();
  }, deps.watchIntervalMs);
  // Read again now the watch runs: a key committed in between is not missed.
  apiKeys.reload();

  await app.register(healthRoutes, { version: VERSION, mqtt: () => mqtt.status });
  await app.register(targetRoutes, {
    targets: store.targets,
    handler,
    policy: () => policy,
  });
  await app.register(textRoutes, { handler });
  await app.register(sessionRoutes, { handler });
  await app.register(stateRoutes, {
    modes: listenModes,
    settings: store.settings,
    targets: store.targets,
    handler,
  });
  await app.register(keyRoutes, { keys: store.keys, changed: () => apiKeys.reload() });
  await app.register(configRoutes, { runtime, handler });
  await app.register(handshakeRoutes, {
    version: VERSION,
    discovery: discoveryInfo(config),
    port: config.port,
    advertised: deps.advertised ?? (() => false),
    // The values routing uses now.
    describe: () => ({
      session_timeout_s: runtime.values.sessionTimeoutS,
      cancel_phrases: [...runtime.values.cancelPhrases],
      listen_mode: listenModes.view().global.mode,
    }),
  });
  await app.register(eventRoutes, { events: store.events, log: decisionLog, ...deps.eventStream });
  await app.register(metricsRoutes, {
    public: config.metricsPublic,
    exposition: new MetricsExposition({
      tallies,
      openSessions: () => handler.sessions.list().length,
      registry: () => ({
        targets: handler.table.names(),
        has: (target) => handler.table.has(target),
        phrases: handler.table.triggers.size,
      }),
      health: (target) => handler.health.view(target),
      trackedTargets: () => handler.health.tracked(),
      listenModes: () => {
        const { global, scoped } = listenModes.view();
        return { global: global.mode, scoped: [...scoped.values()].map((m) => m.mode) };
      },
      decisionLog: () => ({ queued: decisionLog.queued, dropped: decisionLog.dropped }),
      httpListening: () => app.server.listening,
      wyoming: () => ({ ports: wyoming.listening.length, connections: wyoming.connections }),
      mqttStatus,
    }),
  });
  await app.register(frontEndRoutes, { wyoming, mqttStatus });
  await app.register(consoleRoutes, { dir: deps.consoleDir });

  app.addHook('onClose', async () => {
    // Before the handler closes, so utterances in progress are answered while it still forwards.
    await (wyomingClosed ?? wyoming.close());
    await (mqttClosed ?? mqtt.close());
    stopLocal();
    stopExternal();
    stopRuntime();
    stopWarnings();
    listenModes.close();
    await handler.close();
    // After the last request has answered: every decision made is written before the store closes.
    await decisionLog.close();
    if (!deps.forwarder) await forwarder.close();
  });
  return app;
}

/** True when no key is configured, so Echonet uses (and on first start generates) its own. */
export function usesGeneratedApiKey(config: Config): boolean {
  return config.apiKey === undefined && config.apiKeys === undefined;
}

/**
 * The configured keys (ECHONET_API_KEY and ECHONET_API_KEYS), or the one generated and kept in the
 * database when neither is set.
 */
export function apiKeysFor(config: Config, store: Store): string[] {
  if (usesGeneratedApiKey(config)) return [store.secrets.getOrCreate(GENERATED_API_KEY).value];
  return [...(config.apiKey === undefined ? [] : [config.apiKey]), ...(config.apiKeys ?? [])];
}
