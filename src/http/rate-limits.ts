/**
 * ECHONET_RATE_LIMIT_PER_MIN and ECHONET_ADMIN_RATE_LIMIT_PER_MIN, counted per client by
 * @fastify/rate-limit: per IPv4 address, and per IPv6 network of ECHONET_RATE_LIMIT_IPV6_PREFIX bits
 * (a /64 by default, since one home or one attacker gets a whole /64 and can pick any address in
 * it); an IPv4-mapped IPv6 client counts as its IPv4 address. Admin routes (`config.admin`) count
 * against the admin limit when one is set, and against the general limit otherwise.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EchonetError } from '../errors.js';

export interface RateLimitOptions {
  readonly perMin: number | undefined;
  readonly adminPerMin: number | undefined;
  /** Prefix length, 1 to 128, under which IPv6 clients share one count. */
  readonly ipv6Prefix: number;
}

export class RateLimited extends EchonetError {
  override readonly code = 'RATE_LIMITED';
  override readonly statusCode = 429;
}

/** Counts the request; rejects with RateLimited (Retry-After already set) when it is over. */
export type RateLimiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

const MINUTE_MS = 60_000;

/** Sets up the counters; undefined when no limit is configured. */
export async function createRateLimiter(
  app: FastifyInstance,
  { perMin, adminPerMin, ipv6Prefix }: RateLimitOptions,
): Promise<RateLimiter | undefined> {
  if (perMin === undefined && adminPerMin === undefined) return undefined;
  await app.register(rateLimit, {
    // Only the limiter returned here applies limits; no route gets one of its own.
    global: false,
    timeWindow: MINUTE_MS,
    ipv6Subnet: ipv6Prefix,
    errorResponseBuilder: (_request, ctx) =>
      new RateLimited(
        `rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`,
      ),
  });
  const limiter = (max: number | undefined): RateLimiter | undefined =>
    max === undefined ? undefined : (app.rateLimit({ max, timeWindow: MINUTE_MS }) as RateLimiter);
  const general = limiter(perMin);
  const admin = limiter(adminPerMin) ?? general;

  return async (request, reply) => {
    const limit = request.routeOptions.config.admin ? admin : general;
    if (limit) await limit(request, reply);
  };
}
