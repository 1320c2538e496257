import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

export const healthRoutes: FastifyPluginAsyncTypebox<{ version: string }> = async (app, opts) => {
  const body = { ok: true, service: 'echonet', version: opts.version } as const;
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'Is Echonet up? (no key needed)',
        tags: ['Service'],
        response: {
          200: Type.Object({ ok: Type.Boolean(), service: Type.String(), version: Type.String() }),
        },
      },
    },
    async () => body,
  );
};
