/** Target registration: POST /register, GET /targets, DELETE /targets/{name}. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TargetNotFound } from '../errors.js';
import {
  MAX_PHRASE_LENGTH,
  MAX_PHRASES,
  targetView,
  validateRegistration,
  type RegistrationPolicy,
} from '../registration.js';
import type { TargetRegistry } from '../store/targets.js';
import { listenUrlFor } from '../routing/routing-table.js';
import type { TextHandler } from '../routing/text-handler.js';

export interface TargetRoutesOptions {
  readonly targets: TargetRegistry;
  /** Owns the sessions a deletion ends and the forwarding health GET /targets shows. */
  readonly handler: TextHandler;
  /** ECHONET_TARGET_HOSTS and the cancel phrases in effect (read per registration: they change). */
  readonly policy: () => RegistrationPolicy;
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
  health: Type.Object({
    last_ok_at: Type.Union([Type.Number(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    last_error_at: Type.Union([Type.Number(), Type.Null()]),
    consecutive_failures: Type.Integer(),
    breaker: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
    in_flight: Type.Integer(),
  }),
});

export const targetRoutes: FastifyPluginAsyncTypebox<TargetRoutesOptions> = async (app, opts) => {
  const { targets, handler } = opts;
  const { sessions, health } = handler;

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
      const target = validateRegistration(request.body, 'body', opts.policy());
      targets.upsert(target);
      // Read-your-writes: answered once the target routes. Health is kept when the address is the
      // same (its in-flight forwards still count against the cap), reset by the swap otherwise.
      await handler.current();
      request.log.info(
        { target: target.name, phrases: target.phrases.length },
        'target registered',
      );
      return {
        ok: true,
        registered: target.name,
        listen_url: listenUrlFor(target.baseUrl),
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
    async () => {
      // Health is forgotten for targets a registry change removed or moved once its table is live.
      await handler.current().catch(() => {});
      return {
        ok: true,
        targets: targets.all().map((t) => ({ ...targetView(t), health: health.view(t.name) })),
      };
    },
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
      const ended = sessions.endWhere((s) => s.target === name, 'unregistered');
      // Answered once the target no longer routes.
      await handler.current();
      request.log.info({ target: name, sessionsEnded: ended }, 'target deleted');
      return { ok: true, deleted: name };
    },
  );
};
