/**
 * For the API documentation's tests: an app built like startTestApp's but with hooks of the
 * test's own added before it is ready (every route as it is added; every payload before it is
 * serialized), its OpenAPI document, and a validator for the responses the document describes.
 */
import { afterFile } from './cleanup.js';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { buildApp } from '../../src/app.js';
import type { TableBuilder } from '../../src/routing/table-builder.js';
import { openStore, type Store } from '../../src/store/store.js';
import { API_KEY, ManualClock, testSettings } from './app.js';
import { tempDbPath } from './temp.js';

export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly securitySchemes: Record<string, unknown> };
  readonly tags: { readonly name: string }[];
}

export interface Operation {
  readonly summary?: string;
  readonly tags?: string[];
  readonly security?: Record<string, string[]>[];
  readonly parameters?: { readonly in: string; readonly name: string }[];
  readonly requestBody?: { readonly content: Record<string, { schema: object }> };
  readonly responses: Record<
    string,
    { readonly description: string; readonly content?: Record<string, { schema: object }> }
  >;
}

export interface DocApp {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly clock: ManualClock;
  /** Every route the app added, as onRoute saw it. */
  readonly routes: RouteOptions[];
  /** The payload each request's handler (or the error handler) gave, by request id. */
  readonly payloads: Map<string, unknown>;
  document(): Promise<OpenApiDocument>;
}

export interface DocAppOptions {
  /** Runs before ready: a test's own routes. */
  readonly extraRoutes?: (app: FastifyInstance) => void;
  /** How the app builds its routing tables (default: inline), given the app's store. */
  readonly tableBuilder?: (store: Store) => TableBuilder;
}

/** Builds a real app on a temp database. */
export async function startDocApp(
  env: Record<string, string> = {},
  { extraRoutes, tableBuilder }: DocAppOptions = {},
): Promise<DocApp> {
  const { config, fromEnv } = testSettings({ ECHONET_DB_PATH: tempDbPath(), ...env });
  const store = openStore(config.dbPath);
  const clock = new ManualClock();
  const routes: RouteOptions[] = [];
  const app = await buildApp(config, {
    store,
    fromEnv,
    clock,
    logger: false,
    watchIntervalMs: 50,
    onRoute: (route) => void routes.push(route),
    tableBuilder: tableBuilder?.(store),
  });
  const payloads = new Map<string, unknown>();
  app.addHook('preSerialization', (request, _reply, payload, done) => {
    payloads.set(request.id, payload);
    done(null, payload);
  });
  extraRoutes?.(app);
  await app.ready();
  afterFile(async () => {
    await app.close();
    store.close();
  });
  return {
    app,
    store,
    clock,
    routes,
    payloads,
    async document() {
      const res = await app.inject({ url: '/openapi.json' });
      if (res.statusCode !== 200)
        throw new Error(`GET /openapi.json: ${res.statusCode} ${res.body}`);
      return res.json<OpenApiDocument>();
    },
  };
}

/** Fastify's `/targets/:name` as OpenAPI writes it: `/targets/{name}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Compiles the schemas of a document's responses (with its components, for any $ref). */
export class ResponseValidator {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.#ajv.addSchema({ ...doc, $id: 'openapi.json' });
  }

  /** The validator of one documented response, or undefined when the document has none. */
  validator(
    doc: OpenApiDocument,
    path: string,
    method: string,
    status: number,
    mediaType = 'application/json',
  ): ValidateFunction | undefined {
    const response = doc.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
    if (!response?.content?.[mediaType]) return undefined;
    const pointer = ['paths', path, method.toLowerCase(), 'responses', String(status), 'content']
      .concat([mediaType, 'schema'])
      .map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/');
    const ref = `openapi.json#/${pointer}`;
    let compiled = this.#compiled.get(ref);
    if (!compiled) {
      compiled = this.#ajv.compile({ $ref: ref });
      this.#compiled.set(ref, compiled);
    }
    return compiled;
  }
}

export { API_KEY };
