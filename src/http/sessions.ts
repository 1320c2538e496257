/** Live conversations: GET /sessions, POST /sessions/{source_id}/end. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { TextHandler } from '../routing/text-handler.js';
import { SessionBody } from './schemas.js';

export const sessionRoutes: FastifyPluginAsyncTypebox<{ handler: TextHandler }> = async (
  app,
  { handler },
) => {
  const { sessions } = handler;

  app.get(
    '/sessions',
    {
      schema: {
        response: { 200: Type.Object({ ok: Type.Boolean(), sessions: Type.Array(SessionBody) }) },
      },
    },
    async () => {
      // A registry change whose table is not live yet may end some of them.
      await handler.current().catch(() => {});
      return { ok: true, sessions: sessions.list().map((s) => sessions.view(s)) };
    },
  );

  app.post(
    '/sessions/:source_id/end',
    {
      schema: {
        params: Type.Object({ source_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Type.Object({ ok: Type.Boolean(), ended: Type.Boolean() }) },
      },
    },
    async (request) => ({ ok: true, ended: sessions.end(request.params.source_id) }),
  );
};
