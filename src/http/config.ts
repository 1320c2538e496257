/**
 * Runtime configuration in the Python service's wire format: GET /config, GET /config/{key},
 * PUT /config/{key} `{value}` (values travel as strings), plus DELETE /config/{key} to drop a value
 * set here so the environment variable or default applies again. Each setting also says where its
 * value came from (`origin`). Changing one needs the admin key when one is set.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { TextHandler } from '../routing/text-handler.js';
import type { ConfigEntry, RuntimeSettings } from '../runtime-settings.js';
import { errorResponses } from './schemas.js';

export interface ConfigRoutesOptions {
  readonly runtime: RuntimeSettings;
  /** Its routing table is rebuilt when a match setting changes; the answer waits for it. */
  readonly handler: TextHandler;
}

const ConfigBody = Type.Object({
  key: Type.String(),
  value: Type.String(),
  type: Type.Union([
    Type.Literal('bool'),
    Type.Literal('int'),
    Type.Literal('float'),
    Type.Literal('str'),
  ]),
  description: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.Union([Type.String(), Type.Null()]),
  origin: Type.Union([Type.Literal('api'), Type.Literal('env'), Type.Literal('default')]),
});

const KeyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 64 }) });

/** The Python service's limit on a state change's reason, kept for the log rows written here. */
const MAX_REASON_LENGTH = 200;

export const configRoutes: FastifyPluginAsyncTypebox<ConfigRoutesOptions> = async (app, opts) => {
  const { runtime, handler } = opts;

  /** Answers once an utterance would be routed with the new value (match settings rebuild). */
  const applied = async (entry: ConfigEntry): Promise<ConfigEntry> => {
    if (entry.key === 'match_fuzzy' || entry.key === 'match_min_score') await handler.current();
    return entry;
  };

  const tags = ['Settings'];
  app.get(
    '/config',
    {
      schema: {
        summary: 'Every runtime setting with its value, type and origin',
        tags,
        response: { 200: Type.Object({ settings: Type.Record(Type.String(), ConfigBody) }) },
      },
    },
    async () => ({
      settings: Object.fromEntries(runtime.list().map((entry) => [entry.key, entry])),
    }),
  );

  app.get(
    '/config/:key',
    {
      schema: {
        summary: 'One runtime setting',
        tags,
        params: KeyParams,
        response: { 200: ConfigBody, ...errorResponses(404) },
      },
    },
    async (request) => runtime.get(request.params.key),
  );

  app.put(
    '/config/:key',
    {
      config: { admin: true },
      schema: {
        summary: 'Change a setting; it applies from the next utterance and is kept',
        tags,
        params: KeyParams,
        // Other fields are ignored, as the Python service ignores them.
        body: Type.Object({
          value: Type.String(),
          reason: Type.Optional(Type.String({ maxLength: MAX_REASON_LENGTH })),
        }),
        response: { 200: ConfigBody, ...errorResponses(404, 503) },
      },
    },
    async (request) => {
      const { key } = request.params;
      const entry = runtime.set(
        key,
        request.body.value,
        { source: 'api', reason: request.body.reason ?? `PUT /config/${key}` },
        'body.value',
      );
      request.log.info({ key, value: entry.value }, 'setting changed');
      return applied(entry);
    },
  );

  app.delete(
    '/config/:key',
    {
      config: { admin: true },
      schema: {
        summary: 'Drop the value set here: the environment variable or default applies again',
        tags,
        params: KeyParams,
        response: { 200: ConfigBody, ...errorResponses(404, 503) },
      },
    },
    async (request) => {
      const { key } = request.params;
      const entry = runtime.unset(key, { source: 'api' });
      request.log.info({ key, value: entry.value, origin: entry.origin }, 'setting cleared');
      return applied(entry);
    },
  );
};
