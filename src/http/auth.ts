/**
 * API-key and admin-key checks. They run in onRequest, before the body is read, so a caller
 * without a key costs Echonet almost nothing. Keys are compared in constant time (over SHA-256
 * digests, so not even the length of a key leaks).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Forbidden, Unauthorized } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without an API key (GET /health). */
    public?: boolean;
    /** Also needs the admin key when one is configured. */
    admin?: boolean;
  }
}

export interface AuthOptions {
  readonly apiKeys: readonly string[];
  readonly adminKey: string | undefined;
}

/** A set of keys that answers "is this one of them?" in time independent of the candidate. */
export function keyChecker(keys: readonly string[]): (candidate: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (candidate) => {
    if (candidate === undefined || candidate === '') return false;
    const d = digest(candidate);
    let found = false;
    for (const k of digests) found = timingSafeEqual(k, d) || found;
    return found;
  };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const isApiKey = keyChecker(options.apiKeys);
  const isAdminKey = options.adminKey === undefined ? undefined : keyChecker([options.adminKey]);

  // A keep-alive connection sends the same key with every request: once one has been verified on
  // a socket, an identical string on that socket needs no second hash. Only verified keys are
  // remembered, so the shortcut tells a client nothing it did not already send.
  const verifiedOn = new WeakMap<object, string>();

  // Callback style: an async hook costs a promise per request on the hottest path.
  app.addHook('onRequest', (request, _reply, done) => {
    const config = request.routeOptions.config;
    if (config.public) return done();
    const key = header(request, 'x-api-key');
    if (key === undefined) return done(new Unauthorized('missing X-API-Key header'));
    const socket = request.raw.socket;
    if (verifiedOn.get(socket) !== key) {
      if (!isApiKey(key)) return done(new Unauthorized('invalid API key'));
      verifiedOn.set(socket, key);
    }
    if (config.admin && isAdminKey) {
      const admin = header(request, 'x-admin-key');
      if (admin === undefined) return done(new Unauthorized('missing X-Admin-Key header'));
      if (!isAdminKey(admin)) return done(new Forbidden('invalid admin key'));
    }
    done();
  });
}
