/** Target registration: POST /register, GET /targets, DELETE /targets/{name}. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TargetNotFound } from '../errors.js';
import {
  MAX_PHRASE_LENGTH,
  MAX_PHRASES,
  assertNoPhraseConflict,
  listenUrl,
  targetView,
  validateRegistration,
} from '../registration.js';
import type { TargetRegistry } from '../store/targets.js';
import type { SessionTable } from '../routing/sessions.js';

export interface TargetRoutesOptions {
  readonly targets: TargetRegistry;
  readonly sessions: SessionTable;
}

const RegisterBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 32 }),
  base_url: Type.String({ minLength: 1, maxLength: 2048 }),
  phrases: Type.Array(Type.String({ minLength: 1, maxLength: MAX_PHRASE_LENGTH }), {
    maxItems: MAX_PHRASES,
  }),
});

const TargetBody = Type.Object({
  name: Type.String(),
  base_url: Type.String(),
  listen_url: Type.String(),
  phrases: Type.Array(Type.String()),
});

export const targetRoutes: FastifyPluginAsyncTypebox<TargetRoutesOptions> = async (app, opts) => {
  const { targets, sessions } = opts;

  app.post(
    '/register',
    {
      config: { admin: true },
      schema: {
        body: RegisterBody,
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            registered: Type.String(),
            listen_url: Type.String(),
            phrases: Type.Array(Type.String()),
          }),
        },
      },
    },
    async (request) => {
      const target = validateRegistration(request.body);
      targets.upsert(target, (others) => assertNoPhraseConflict(target, others));
      request.log.info(
        { target: target.name, phrases: target.phrases.length },
        'target registered',
      );
      return {
        ok: true,
        registered: target.name,
        listen_url: listenUrl(target.baseUrl),
        phrases: [...target.phrases],
      };
    },
  );

  app.get(
    '/targets',
    {
      schema: {
        response: { 200: Type.Object({ ok: Type.Boolean(), targets: Type.Array(TargetBody) }) },
      },
    },
    async () => ({ ok: true, targets: targets.all().map(targetView) }),
  );

  app.delete(
    '/targets/:name',
    {
      config: { admin: true },
      schema: {
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: Type.Object({ ok: Type.Boolean(), deleted: Type.String() }) },
      },
    },
    async (request) => {
      const name = request.params.name.toLowerCase();
      if (!targets.delete(name)) throw new TargetNotFound(request.params.name);
      const ended = sessions.endWhere((s) => s.target === name);
      request.log.info({ target: name, sessionsEnded: ended }, 'target deleted');
      return { ok: true, deleted: name };
    },
  );
};
