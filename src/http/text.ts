/** Utterances: POST /text routes and forwards; POST /route/preview only says what it would do. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { FRONT_ENDS, previewView, type TextHandler } from '../routing/text-handler.js';
import { MatchBody, Mode, SessionBody } from './schemas.js';

export interface TextRoutesOptions {
  readonly handler: TextHandler;
}

const TextBody = Type.Object({
  source_id: Type.String({ minLength: 1, maxLength: 64 }),
  room: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  ts: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1e11 }), Type.Null()])),
  text: Type.String({ minLength: 1, maxLength: 500 }),
  confidence: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

const TextResponse = Type.Object({
  handled: Type.Boolean(),
  routed_to: Nullable(Type.String()),
  mode: Mode,
  session: Nullable(SessionBody),
  forwarded: Type.Boolean(),
  reason: Type.String(),
  match: Nullable(MatchBody),
  event_id: Nullable(Type.String()),
  reply: Nullable(Type.String()),
  intended_target: Type.Optional(Type.String()),
  winner: Type.Optional(Type.String()),
});

const PreviewBody = Type.Object({
  text: Type.String({ minLength: 1, maxLength: 500 }),
  source_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  // Previewing as another front end is harmless (nothing is routed) and shows the name rule.
  front_end: Type.Optional(Type.Union(FRONT_ENDS.map((f) => Type.Literal(f)))),
});

const PreviewResponse = Type.Object({
  ok: Type.Boolean(),
  handled: Type.Boolean(),
  routed_to: Nullable(Type.String()),
  mode: Mode,
  reason: Type.String(),
  match: Nullable(MatchBody),
  forward_text: Nullable(Type.String()),
});

export const textRoutes: FastifyPluginAsyncTypebox<TextRoutesOptions> = async (app, opts) => {
  const { handler } = opts;

  app.post(
    '/text',
    {
      schema: {
        summary: 'Route an utterance: match a wake phrase or session and forward it',
        description:
          'Answers with the decision and, when the target replied, what to say back. ' +
          '`handled: false` means no target took it (say nothing, or hand it to the local assistant).',
        tags: ['Utterances'],
        body: TextBody,
        response: { 200: TextResponse },
      },
    },
    async (request) => {
      // Field by field: a body's extra fields (frontEnd, defaultTarget…) are not the client's to set.
      const { source_id, room, ts, text, confidence } = request.body;
      const result = await handler.handle({
        source_id,
        room,
        ts,
        text,
        confidence,
        frontEnd: 'http',
      });
      if (!result.forwarded && /^(forward_failed|target_)/.test(result.reason)) {
        request.log.warn(
          {
            target: result.routed_to,
            intended_target: result.intended_target,
            reason: result.reason,
          },
          'forward failed',
        );
      } else if (result.intended_target !== undefined) {
        request.log.warn(
          { target: result.intended_target, fallback: result.routed_to, reason: result.reason },
          'forward failed; the fallback target took the utterance',
        );
      }
      return result;
    },
  );

  app.post(
    '/route/preview',
    {
      schema: {
        summary: 'What POST /text would do with this sentence, without routing it',
        tags: ['Utterances'],
        body: PreviewBody,
        response: { 200: PreviewResponse },
      },
    },
    async (request) => {
      const { text, source_id, front_end } = request.body;
      const decision = handler.preview(text, source_id, front_end);
      return { ok: true, ...previewView(decision) };
    },
  );
};
