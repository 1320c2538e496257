/** Live conversations: GET /sessions, POST /sessions/{source_id}/end. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SessionTable } from '../routing/sessions.js';
import { SessionBody } from './schemas.js';

export const sessionRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionTable }> = async (
  app,
  { sessions },
) => {
  app.get(
    '/sessions',
    {
      schema: {
        response: { 200: Type.Object({ ok: Type.Boolean(), sessions: Type.Array(SessionBody) }) },
      },
    },
    async () => ({ ok: true, sessions: sessions.list().map((s) => sessions.view(s)) }),
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
