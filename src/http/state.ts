/**
 * Listen modes over HTTP, in the Python service's wire format: GET /state, GET /state/history,
 * PUT /state. Echonet adds the active target and its remaining time, the modes scoped to one
 * front end (`source_id`), and `source_id` on PUT to set one.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TargetNotFound } from '../errors.js';
import { parseListenMode, type ListenModes, type ModeState } from '../routing/listen-modes.js';
import type { TextHandler } from '../routing/text-handler.js';
import { historyLimit, type SettingsStore } from '../store/settings.js';
import type { TargetRegistry } from '../store/targets.js';
import { errorResponses } from './schemas.js';

export interface StateRoutesOptions {
  readonly modes: ListenModes;
  readonly settings: SettingsStore;
  readonly targets: TargetRegistry;
  /** Waited on after a change, so an `active` target already routes when PUT answers. */
  readonly handler: TextHandler;
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

const ModeFields = {
  listen_mode: Type.String(),
  /** For `active`: the target receiving every utterance. */
  target: Nullable(Type.String()),
  /** For `active`: seconds before it goes back to trigger by itself. */
  expires_in_s: Nullable(Type.Number()),
};

const StateResponse = Type.Object({
  ok: Type.Boolean(),
  settings: Type.Array(
    Type.Object({
      name: Type.String(),
      value: Type.String(),
      updated_at: Type.String(),
      description: Nullable(Type.String()),
    }),
  ),
  listen_mode: Type.String(),
  active_target: Nullable(Type.String()),
  active_expires_in_s: Nullable(Type.Number()),
  sources: Type.Array(Type.Object({ source_id: Type.String(), ...ModeFields })),
});

const HistoryQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 256 })),
  limit: Type.Optional(Type.String({ maxLength: 16 })),
});

const HistoryResponse = Type.Object({
  ok: Type.Boolean(),
  count: Type.Integer(),
  changes: Type.Array(
    Type.Object({
      id: Type.Integer(),
      name: Type.String(),
      old_value: Nullable(Type.String()),
      new_value: Type.String(),
      changed_at: Type.String(),
      source: Nullable(Type.String()),
      reason: Nullable(Type.String()),
    }),
  ),
});

// Limits as the Python service's StateUpdate; `source_id` as POST /text's.
const PutBody = Type.Object({
  target: Type.String({ minLength: 1, maxLength: 32 }),
  source: Type.String({ minLength: 1, maxLength: 64 }),
  state: Type.String({ maxLength: 64 }),
  reason: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  source_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
});

const PutResponse = Type.Object({
  ok: Type.Boolean(),
  listen_mode: Type.String(),
  target: Type.String(),
  source: Type.String(),
  message: Type.String(),
  source_id: Nullable(Type.String()),
  expires_in_s: Nullable(Type.Number()),
});

export const stateRoutes: FastifyPluginAsyncTypebox<StateRoutesOptions> = async (app, opts) => {
  const { modes, settings, targets, handler } = opts;

  const fields = (s: ModeState) => ({
    listen_mode: s.mode,
    target: s.target,
    expires_in_s: modes.expiresInS(s),
  });

  const tags = ['Listen modes'];
  app.get(
    '/state',
    {
      schema: {
        summary: 'The listen mode now, globally and per source, and the stored settings',
        tags,
        response: { 200: StateResponse },
      },
    },
    async () => {
      // First: an active mode whose time is up is reset (and its row written) before the read.
      const { global, scoped } = modes.view();
      return {
        ok: true,
        settings: settings.all(),
        listen_mode: global.mode,
        active_target: global.target,
        active_expires_in_s: modes.expiresInS(global),
        sources: [...scoped]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([sourceId, s]) => ({ source_id: sourceId, ...fields(s) })),
      };
    },
  );

  app.get(
    '/state/history',
    {
      schema: {
        summary: 'Past listen-mode changes, newest first',
        tags,
        querystring: HistoryQuery,
        response: { 200: HistoryResponse },
      },
    },
    async (request) => {
      const limit = historyLimit(request.query.limit, 'querystring.limit');
      modes.expire();
      const changes = settings.history({ name: request.query.name || undefined, limit });
      return { ok: true, count: changes.length, changes };
    },
  );

  app.put(
    '/state',
    {
      config: { admin: true },
      schema: {
        summary: 'Switch the listen mode (trigger, active, inactive), globally or for one source',
        tags,
        body: PutBody,
        response: { 200: PutResponse, ...errorResponses(404) },
      },
    },
    async (request) => {
      const body = request.body;
      const mode = parseListenMode(body.state, 'body.state');
      const target = targets.get(body.target);
      if (!target) throw new TargetNotFound(body.target, 'Register the target first.');
      const sourceId = body.source_id ?? null;
      const state = modes.set({
        mode,
        target: target.name,
        source: `${body.source}:${target.name}`,
        reason: body.reason || `State change requested by ${body.target}`,
        sourceId,
      });
      // The target exists in the registry; wait until the routing table has it too.
      await handler.current().catch(() => {});
      request.log.info(
        { listenMode: mode, target: target.name, sourceId, source: body.source },
        'listen mode changed',
      );
      return {
        ok: true,
        listen_mode: mode,
        target: body.target,
        source: body.source,
        message:
          `listen mode is now ${mode}` +
          (sourceId === null ? '' : ` for source '${sourceId}'`) +
          `, requested by target '${body.target}'`,
        source_id: sourceId,
        expires_in_s: modes.expiresInS(state),
      };
    },
  );
};
