import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

export interface HealthOptions {
  readonly version: string;
  /** The MQTT front end's state now: `off` when no broker is configured. */
  readonly mqtt: () => 'connected' | 'reconnecting' | 'off';
}

/** Public and cheap: monitors call it often, and it reads no database. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (app, opts) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'Is Echonet up? (no key needed)',
        tags: ['Service'],
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            service: Type.String(),
            version: Type.String(),
            mqtt: Type.Union([
              Type.Literal('connected'),
              Type.Literal('reconnecting'),
              Type.Literal('off'),
            ]),
          }),
        },
      },
    },
    async () => ({ ok: true, service: 'echonet', version: opts.version, mqtt: opts.mqtt() }),
  );
};
