/**
 * buildApp(config, deps) → a Fastify instance that is ready but not listening. Only the CLI's
 * `serve` listens; tests build as many apps as they like and talk to them with inject().
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { registerAuth } from './http/auth.js';
import { registerErrorHandling } from './http/errors.js';
import { healthRoutes } from './http/health.js';
import { sessionRoutes } from './http/sessions.js';
import { targetRoutes } from './http/targets.js';
import { textRoutes } from './http/text.js';
import { createForwarder, type Forwarder } from './routing/forwarder.js';
import { TextHandler } from './routing/text-handler.js';
import { GENERATED_API_KEY } from './store/secrets.js';
import type { Store } from './store/store.js';
import { VERSION } from './version.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

export interface AppDeps {
  readonly store: Store;
  readonly clock?: Clock;
  /** Defaults to an undici forwarder with the configured timeout, closed with the app. */
  readonly forwarder?: Forwarder;
  /** Pino options or false; defaults to JSON logs at the configured level. */
  readonly logger?: boolean | Record<string, unknown>;
  /** How often to look for registry changes made by other processes. */
  readonly watchIntervalMs?: number;
}

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const forwarder =
    deps.forwarder ?? createForwarder({ timeoutMs: Math.round(config.httpTimeoutS * 1000) });

  const app = Fastify({
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: ['req.headers["x-api-key"]', 'req.headers["x-admin-key"]'],
    },
    bodyLimit: BODY_LIMIT_BYTES,
    // One line per request would dominate the hot path; decisions are logged where they matter.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies are never coerced: a number where text belongs is an error, not "123".
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every body is JSON; anything else gets 415 with a hint rather than a confusing schema error.
  app.removeContentTypeParser('text/plain');
  // Fastify refuses an empty JSON body outright; letting it through gives the schema's clearer error.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  });

  registerErrorHandling(app);
  registerAuth(app, {
    apiKeys: apiKeysFor(config, store),
    adminKey: config.adminKey,
  });

  const handler = new TextHandler(store.targets.all(), {
    sessionTimeoutS: config.sessionTimeoutS,
    cancelPhrases: config.cancelPhrases,
    stripTrigger: config.forwardStripTrigger,
    match: { fuzzy: config.matchFuzzy, minScore: config.matchMinScore },
    clock,
    forwarder,
  });
  const reload = () => handler.reload(store.targets.all());
  const stopLocal = store.targets.onChange(reload);
  const stopExternal = store.watchExternalChanges(reload, deps.watchIntervalMs);

  await app.register(healthRoutes, { version: VERSION });
  await app.register(targetRoutes, { targets: store.targets, sessions: handler.sessions });
  await app.register(textRoutes, { handler });
  await app.register(sessionRoutes, { sessions: handler.sessions });

  app.addHook('onClose', async () => {
    stopLocal();
    stopExternal();
    if (!deps.forwarder) await forwarder.close();
  });
  return app;
}

/** The configured key, or the one generated and kept in the database when none is configured. */
export function apiKeysFor(config: Config, store: Store): string[] {
  if (config.apiKey !== undefined) return [config.apiKey];
  return [store.secrets.getOrCreate(GENERATED_API_KEY).value];
}
