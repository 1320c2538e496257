/**
 * Who may talk to Echonet and how much, in the order every request meets it: security headers on
 * every response, the allowlist (403 before any other work), the rate limits (429), then the key
 * check in auth.ts. Registered by buildApp before auth; nothing here reads the body.
 *
 * A request whose URL Fastify cannot route (bad percent-encoding, an over-long path segment) never
 * reaches a hook: buildApp's frameworkErrors asks `refusal` for the same decision instead, so such
 * a URL is no way around the allowlist or the limits.
 */
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { EchonetError, Forbidden } from '../errors.js';
import { createAllowlist, type Resolver } from '../access/allowlist.js';
import { createRateLimiter } from './rate-limits.js';

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

export interface AccessGate {
  /**
   * The allowlist and rate-limit decision for a request that skipped the hooks: the same checks,
   * in the same order. Resolves to the refusal (rate-limit headers already set), or undefined.
   */
  refusal(request: FastifyRequest, reply: FastifyReply): Promise<EchonetError | undefined>;
}

export async function registerAccess(
  app: FastifyInstance,
  config: Config,
  options: AccessOptions = {},
): Promise<AccessGate> {
  // Set when the request arrives, so every answer carries them: errors, 404s and refusals
  // included. A callback-style onRequest hook costs ~1 µs; the same headers in an onSend hook
  // cost ~15 µs of CPU per POST /text, and @fastify/helmet ~30 µs (bench/NOTES.md).
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });

  let notAllowed: ((request: FastifyRequest) => Forbidden | undefined) | undefined;
  if (config.allowlist !== undefined) {
    const allowlist = await createAllowlist(config.allowlist, {
      log: app.log,
      ...(options.resolve && { resolve: options.resolve }),
    });
    app.addHook('onClose', async () => allowlist.close());
    const refuse = (request: FastifyRequest) => {
      if (allowlist.allows(request.ip)) return undefined;
      request.log.info({ ip: request.ip }, 'refused: client address not in ECHONET_ALLOWLIST');
      return new Forbidden(`client address ${request.ip} is not allowed`);
    };
    app.addHook('onRequest', (request, _reply, done) => done(refuse(request)));
    notAllowed = refuse;
  }

  const rateLimit = await createRateLimiter(app, {
    perMin: config.rateLimitPerMin,
    adminPerMin: config.adminRateLimitPerMin,
    ipv6Prefix: config.rateLimitIpv6Prefix,
  });
  if (rateLimit) app.addHook('onRequest', rateLimit);

  const clientAddress = clientAddressOf(config);
  return {
    async refusal(request, reply) {
      // Fastify builds these requests without ECHONET_TRUST_PROXY (request.ip is the socket's
      // peer): give them the address the hooks would see, for the checks and the log alike.
      Object.defineProperty(request, 'ip', { value: clientAddress(request), enumerable: true });
      const forbidden = notAllowed?.(request);
      if (forbidden) return forbidden;
      try {
        await rateLimit?.(request, reply);
      } catch (err) {
        if (err instanceof EchonetError) return err;
        throw err;
      }
      return undefined;
    },
  };
}

/**
 * The client address as Fastify works it out for routed requests: the socket's peer, or behind a
 * proxy named in ECHONET_TRUST_PROXY the address that proxy reports (the same library, compiled
 * from the same list, as Fastify's trustProxy).
 */
function clientAddressOf(config: Config): (request: FastifyRequest) => string {
  if (config.trustProxy === undefined) return (request) => request.raw.socket.remoteAddress ?? '';
  const trusted = proxyAddr.compile([...config.trustProxy]);
  return (request) => {
    const addresses = proxyAddr.all(request.raw, trusted);
    return addresses[addresses.length - 1] ?? '';
  };
}
