/**
 * API keys managed at run time: POST /keys, GET /keys, DELETE /keys/{id}. They need the admin key
 * and are refused when the server has none, since any key holder could otherwise mint keys. A new
 * key is in the POST answer and nowhere else; the log names keys by id only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiKeyNotFound } from '../errors.js';
import { MAX_KEY_LABEL_LENGTH, checkKeyLabel, parseKeyId, type KeyStore } from '../store/keys.js';
import { errorResponses } from './schemas.js';

export interface KeyRoutesOptions {
  readonly keys: KeyStore;
  /** Called after every change, so this process's key check sees it at once. */
  readonly changed: () => void;
}

const KeyBody = Type.Object({
  id: Type.Integer(),
  label: Type.String(),
  created_at: Type.String(),
});

export const keyRoutes: FastifyPluginAsyncTypebox<KeyRoutesOptions> = async (app, opts) => {
  const { keys, changed } = opts;
  const admin = { admin: true, adminKeyRequired: true };
  const tags = ['API keys'];

  app.post(
    '/keys',
    {
      config: admin,
      schema: {
        summary: 'Add an API key (shown in this answer only)',
        tags,
        body: Type.Object({
          label: Type.String({ minLength: 1, maxLength: MAX_KEY_LABEL_LENGTH }),
        }),
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            id: Type.Integer(),
            label: Type.String(),
            created_at: Type.String(),
            key: Type.String(),
          }),
        },
      },
    },
    async (request) => {
      const created = keys.add(checkKeyLabel(request.body.label, 'body.label'));
      changed();
      request.log.info({ keyId: created.id }, 'API key added');
      return {
        ok: true,
        id: created.id,
        label: created.label,
        created_at: created.createdAt,
        key: created.key,
      };
    },
  );

  app.get(
    '/keys',
    {
      config: admin,
      schema: {
        summary: 'List the added API keys (ids and labels, never the keys)',
        tags,
        response: { 200: Type.Object({ ok: Type.Boolean(), keys: Type.Array(KeyBody) }) },
      },
    },
    async () => ({
      ok: true,
      keys: keys.list().map((k) => ({ id: k.id, label: k.label, created_at: k.createdAt })),
    }),
  );

  app.delete(
    '/keys/:id',
    {
      config: admin,
      schema: {
        summary: 'Revoke an added API key',
        tags,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 32 }) }),
        response: {
          200: Type.Object({ ok: Type.Boolean(), revoked: Type.Integer() }),
          ...errorResponses(404),
        },
      },
    },
    async (request) => {
      const id = parseKeyId(request.params.id, 'params.id');
      if (!keys.revoke(id)) throw new ApiKeyNotFound(id);
      changed();
      request.log.info({ keyId: id }, 'API key revoked');
      return { ok: true, revoked: id };
    },
  );
};
