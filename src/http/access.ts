/**
 * Who may talk to Echonet and how much, in the order every request meets it: security headers on
 * every response, the allowlist (403 before any other work), the rate limits (429), then the key
 * check in auth.ts. Registered by buildApp before auth; nothing here reads the body.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { Forbidden } from '../errors.js';
import { createAllowlist, type Resolver } from './allowlist.js';
import { registerRateLimits } from './rate-limits.js';

/**
 * Headers for a JSON API that no browser should render, frame, sniff, cache or leak a referrer
 * from (the OWASP REST set, plus CORP so other sites cannot load the JSON). HSTS is left to the
 * TLS-terminating proxy: over plain HTTP on a LAN it means nothing.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
});

export interface AccessOptions {
  /** Host-name resolution for the allowlist; node:dns by default. */
  readonly resolve?: Resolver;
}

export async function registerAccess(
  app: FastifyInstance,
  config: Config,
  options: AccessOptions = {},
): Promise<void> {
  // Set when the request arrives, so every answer carries them: errors, 404s and refusals
  // included. A callback-style onRequest hook costs ~1 µs; the same headers in an onSend hook
  // cost ~15 µs of CPU per POST /text, and @fastify/helmet ~30 µs (bench/NOTES.md).
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });

  if (config.allowlist !== undefined) {
    const allowlist = await createAllowlist(config.allowlist, {
      log: app.log,
      ...(options.resolve && { resolve: options.resolve }),
    });
    app.addHook('onClose', async () => allowlist.close());
    app.addHook('onRequest', (request, _reply, done) => {
      if (allowlist.allows(request.ip)) return done();
      request.log.info({ ip: request.ip }, 'refused: client address not in ECHONET_ALLOWLIST');
      done(new Forbidden(`client address ${request.ip} is not allowed`));
    });
  }

  await registerRateLimits(app, {
    perMin: config.rateLimitPerMin,
    adminPerMin: config.adminRateLimitPerMin,
  });
}
