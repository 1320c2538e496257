/**
 * GET /metrics (Prometheus text format) and the hook that counts every answered request by
 * method, route pattern and status. The route needs the API key unless ECHONET_METRICS_PUBLIC is
 * true (a scraper that cannot send headers); the allowlist applies either way.
 */
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MetricsExposition } from '../metrics/exposition.js';
import type { MetricTallies } from '../metrics/tallies.js';

/**
 * Counts every answered request, refused ones (401, 429, 404) included. Registered on the root
 * instance before the routes, so it covers all of them; callback style, as the auth hook, because
 * an async hook costs a promise per request. The label is the route's pattern (`/targets/:name`),
 * never the URL, so the number of series stays bounded.
 */
export function registerRequestCounting(app: FastifyInstance, tallies: MetricTallies): void {
  app.addHook('onResponse', (request, reply, done) => {
    tallies.request(request.method, request.routeOptions.url, reply.statusCode);
    done();
  });
}

export interface MetricsRoutesOptions {
  readonly exposition: MetricsExposition;
  /** ECHONET_METRICS_PUBLIC: reachable without an API key. */
  readonly public: boolean;
}

export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, opts) => {
  app.get(
    '/metrics',
    {
      config: { public: opts.public },
      schema: { response: { 200: Type.String() } },
    },
    async (_request, reply) => {
      const { contentType, body } = await opts.exposition.text();
      return reply.type(contentType).send(body);
    },
  );
};
