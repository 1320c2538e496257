/**
 * Live conversations, in the Python service's wire format: GET /sessions, POST
 * /sessions/{source_id}/end, and DELETE /sessions/{source_id} as the REST spelling of the same end.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { TextHandler } from '../routing/text-handler.js';
import { SessionBody } from './schemas.js';

const SourceParams = Type.Object({ source_id: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * `ended` is the source_id, as the Python service answered whether or not a session was open;
 * `had_session` (ours) says whether one was.
 */
const EndedBody = Type.Object({
  ok: Type.Boolean(),
  ended: Type.String(),
  had_session: Type.Boolean(),
});

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

  const end = { schema: { params: SourceParams, response: { 200: EndedBody } } };
  const ended = (sourceId: string) => ({
    ok: true,
    ended: sourceId,
    had_session: sessions.end(sourceId, 'api'),
  });
  app.post('/sessions/:source_id/end', end, async (request) => ended(request.params.source_id));
  app.delete('/sessions/:source_id', end, async (request) => ended(request.params.source_id));
};
