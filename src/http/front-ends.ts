/**
 * GET /front-ends: which front ends are taking utterances now, for the console and for anyone
 * checking a setup. HTTP is listening whenever this answers; Wyoming lists the ports it listens
 * on and its open connections; MQTT reports the state its front end gives (off until one is
 * wired). Read at request time: nothing is kept or counted for it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Listening } from '../wyoming/server.js';

export interface FrontEndRoutesOptions {
  readonly wyoming: { readonly listening: readonly Listening[]; readonly connections: number };
  /** The MQTT connection's state (`connected`, `reconnecting`…); without it: `off`. */
  readonly mqttStatus?: () => string;
}

const FrontEndsBody = Type.Object({
  ok: Type.Boolean(),
  http: Type.Object({ state: Type.Literal('listening') }),
  wyoming: Type.Object({
    state: Type.Union([Type.Literal('listening'), Type.Literal('off')]),
    ports: Type.Array(
      Type.Object({
        host: Type.String(),
        port: Type.Integer(),
        name: Type.String(),
        default_target: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    connections: Type.Integer(),
  }),
  mqtt: Type.Object({ state: Type.String() }),
});

export const frontEndRoutes: FastifyPluginAsyncTypebox<FrontEndRoutesOptions> = async (
  app,
  opts,
) => {
  const { wyoming } = opts;
  app.get(
    '/front-ends',
    {
      schema: {
        summary: 'The front ends taking utterances now (HTTP, Wyoming ports, MQTT)',
        tags: ['Service'],
        response: { 200: FrontEndsBody },
      },
    },
    async () => {
      const listening = wyoming.listening;
      return {
        ok: true,
        http: { state: 'listening' as const },
        wyoming: {
          state: listening.length > 0 ? ('listening' as const) : ('off' as const),
          ports: listening.map((l) => ({
            host: l.host,
            port: l.port,
            name: l.name,
            default_target: l.defaultTarget ?? null,
          })),
          connections: wyoming.connections,
        },
        mqtt: { state: opts.mqttStatus?.() ?? 'off' },
      };
    },
  );
};
