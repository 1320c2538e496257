/**
 * ECHONET_RATE_LIMIT_PER_MIN and ECHONET_ADMIN_RATE_LIMIT_PER_MIN, counted per client address by
 * @fastify/rate-limit. Both run as one root onRequest hook, after the allowlist and before the
 * key check, so guessing keys is limited too. Admin routes (`config.admin`) count against the admin
 * limit when one is set, and against the general limit otherwise.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EchonetError } from '../errors.js';

export interface RateLimitOptions {
  readonly perMin: number | undefined;
  readonly adminPerMin: number | undefined;
}

export class RateLimited extends EchonetError {
  override readonly code = 'RATE_LIMITED';
  override readonly statusCode = 429;
}

const MINUTE_MS = 60_000;

export async function registerRateLimits(
  app: FastifyInstance,
  { perMin, adminPerMin }: RateLimitOptions,
): Promise<void> {
  if (perMin === undefined && adminPerMin === undefined) return;
  await app.register(rateLimit, {
    // Only the hook below applies limits; no route gets one of its own.
    global: false,
    timeWindow: MINUTE_MS,
    // Per address, IPv6 included: on a home LAN every device shares one /64 (the plugin's default).
    ipv6Subnet: 128,
    errorResponseBuilder: (_request, ctx) =>
      new RateLimited(
        `rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`,
      ),
  });
  type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  const limiter = (max: number | undefined): Limiter | undefined =>
    max === undefined ? undefined : (app.rateLimit({ max, timeWindow: MINUTE_MS }) as Limiter);
  const general = limiter(perMin);
  const admin = limiter(adminPerMin) ?? general;

  app.addHook('onRequest', async (request, reply) => {
    const limit = request.routeOptions.config.admin ? admin : general;
    if (limit) await limit(request, reply);
  });
}
