/**
 * GET /openapi.json documents every route the app registers (walked with Fastify's onRoute as the
 * app adds them), each with a summary, tags, its parameters and body, a success response, the
 * error responses it can meet and the keys it needs; /docs serves Swagger UI without a key.
 */
import { describe, expect, it } from 'vitest';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { commonErrors, TAGS } from '../../src/http/openapi.js';
import { ADMIN_KEY } from '../helpers/app.js';
import { openApiPath, startDocApp, type OpenApiDocument } from '../helpers/openapi.js';

/**
 * Routes that serve no API and set `schema.hide`: each must be listed here, so a route is never
 * left out of the document by accident.
 */
const HIDDEN = [
  // Swagger UI's page, its files and its own copy of the document (src/http/openapi.ts).
  { prefix: '/docs', why: 'the documentation page itself' },
  // The console's static files (issue 15's console lane): a page, not an API.
  { prefix: '/console', why: "the console's HTML, scripts and styles" },
  { exact: '/', why: 'redirects to the console' },
] as const;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options'];

/** Everything the document misses or gets wrong about the app's routes, one line each. */
function documentationProblems(
  routes: readonly RouteOptions[],
  doc: OpenApiDocument,
  config: Partial<Parameters<typeof commonErrors>[1]>,
): string[] {
  const problems: string[] = [];
  const tagNames = new Set<string>(TAGS.map((t) => t.name));
  const seen = new Set<string>();
  for (const route of routes) {
    // Fastify adds a HEAD route for each GET; the document describes the GET.
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    for (const method of methods) {
      const where = `${method} ${route.url}`;
      const schema = (route.schema ?? {}) as Record<string, unknown>;
      if (schema.hide) {
        const listed = HIDDEN.some((h) =>
          'exact' in h
            ? route.url === h.exact
            : route.url === h.prefix || route.url.startsWith(`${h.prefix}/`),
        );
        if (!listed) problems.push(`${where}: hidden from the document but not listed in HIDDEN`);
        continue;
      }
      const path = openApiPath(route.url);
      const op = doc.paths[path]?.[method.toLowerCase()];
      seen.add(`${method.toLowerCase()} ${path}`);
      if (!op) {
        problems.push(`${where}: missing from the document`);
        continue;
      }
      if (!op.summary) problems.push(`${where}: no summary`);
      if (!op.tags?.length) problems.push(`${where}: no tags`);
      for (const tag of op.tags ?? []) {
        if (!tagNames.has(tag)) problems.push(`${where}: tag '${tag}' is not one of TAGS`);
      }
      if (!Array.isArray(op.security)) problems.push(`${where}: no security requirement`);
      const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
      if (!success.some(([, r]) => r.content && Object.keys(r.content).length > 0)) {
        problems.push(`${where}: no success response with a schema`);
      }
      for (const status of commonErrors(route, config)) {
        const schema = op.responses[status]?.content?.['application/json']?.schema as
          { properties?: Record<string, unknown> } | undefined;
        if (!schema?.properties?.error) problems.push(`${where}: no ${status} error response`);
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (!response.description) problems.push(`${where}: response ${status} has no description`);
      }
      if (schema.body !== undefined && !op.requestBody?.content['application/json']) {
        problems.push(`${where}: body schema not documented`);
      }
      const params = new Set((op.parameters ?? []).map((p) => `${p.in}:${p.name}`));
      // A key that may come in the query is documented by its security scheme, not as a parameter.
      for (const requirement of op.security ?? []) {
        for (const name of Object.keys(requirement)) {
          const scheme = doc.components.securitySchemes[name] as { in: string; name: string };
          params.add(`${scheme.in}:${scheme.name}`);
        }
      }
      for (const [part, place] of [
        ['params', 'path'],
        ['querystring', 'query'],
      ] as const) {
        const props = (schema[part] as { properties?: object } | undefined)?.properties ?? {};
        for (const name of Object.keys(props)) {
          if (!params.has(`${place}:${name}`))
            problems.push(`${where}: ${place} '${name}' missing`);
        }
      }
    }
  }
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops).filter((m) => METHODS.includes(m))) {
      if (!seen.has(`${method} ${path}`)) problems.push(`${method} ${path}: documented, no route`);
    }
  }
  return problems;
}

describe('the OpenAPI document', () => {
  it('documents every registered route: summary, tags, parameters, body, responses, keys', async () => {
    const t = await startDocApp();
    const doc = await t.document();
    expect(doc.openapi).toBe('3.1.0');
    // The walk saw the API, not just the documentation's own routes.
    expect(t.routes.filter((r) => !(r.schema as { hide?: boolean })?.hide).length).toBeGreaterThan(
      20,
    );
    expect(documentationProblems(t.routes, doc, {})).toEqual([]);
  });

  it('documents the refusals and keys a stricter configuration adds (admin key, allowlist, limits)', async () => {
    const env = {
      ECHONET_ADMIN_KEY: ADMIN_KEY,
      ECHONET_ALLOWLIST: '127.0.0.1',
      ECHONET_RATE_LIMIT_PER_MIN: '1000',
    };
    const t = await startDocApp(env);
    const doc = await t.document();
    const config = {
      adminKey: ADMIN_KEY,
      allowlist: [],
      rateLimitPerMin: 1000,
      adminRateLimitPerMin: undefined,
    };
    expect(documentationProblems(t.routes, doc, config)).toEqual([]);
    const register = doc.paths['/register']!.post!;
    expect(register.security).toEqual([{ ApiKey: [], AdminKey: [] }]);
    expect(Object.keys(register.responses)).toEqual(
      expect.arrayContaining([
        '200',
        '400',
        '401',
        '403',
        '409',
        '413',
        '415',
        '429',
        '500',
        '503',
      ]),
    );
    // Without the admin key configured, changes need the API key alone, and cannot be refused 403.
    const plain = await (await startDocApp()).document();
    expect(plain.paths['/register']!.post!.security).toEqual([{ ApiKey: [] }]);
    expect(plain.paths['/register']!.post!.responses['403']).toBeUndefined();
    // Key management always needs the admin key (refused outright without one).
    expect(plain.paths['/keys']!.post!.security).toEqual([{ ApiKey: [], AdminKey: [] }]);
    expect(plain.paths['/keys']!.post!.responses['403']).toBeDefined();
  });

  it('finds a route missing from the document, or hidden without being listed', async () => {
    const extraRoutes = (app: FastifyInstance) => {
      app.get('/undocumented', async () => ({ ok: true }));
      app.get('/secret', { schema: { hide: true } }, async () => ({ ok: true }));
      app.get(
        '/untagged',
        { schema: { summary: 'no tags', response: { 200: { type: 'object' } } } },
        async () => ({}),
      );
    };
    const t = await startDocApp({}, { extraRoutes });
    const problems = documentationProblems(t.routes, await t.document(), {});
    expect(problems).toEqual(
      expect.arrayContaining([
        'GET /undocumented: no summary',
        'GET /undocumented: no tags',
        'GET /undocumented: no success response with a schema',
        'GET /secret: hidden from the document but not listed in HIDDEN',
        'GET /untagged: no tags',
      ]),
    );
  });

  it('names the security schemes and which routes need which', async () => {
    const t = await startDocApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const doc = await t.document();
    expect(doc.components.securitySchemes).toMatchObject({
      ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      AdminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
      ApiKeyQuery: { type: 'apiKey', in: 'query', name: 'key' },
    });
    expect(doc.paths['/health']!.get!.security).toEqual([]);
    expect(doc.paths['/openapi.json']!.get!.security).toEqual([]);
    expect(doc.paths['/text']!.post!.security).toEqual([{ ApiKey: [] }]);
    expect(doc.paths['/config/{key}']!.put!.security).toEqual([{ ApiKey: [], AdminKey: [] }]);
    expect(doc.paths['/events/stream']!.get!.security).toEqual([
      { ApiKey: [] },
      { ApiKeyQuery: [] },
    ]);
    expect(doc.paths['/events/stream']!.get!.responses['200']!.content).toHaveProperty([
      'text/event-stream',
    ]);
    expect(doc.tags.map((tag) => tag.name)).toEqual(TAGS.map((tag) => tag.name));
  });
});

describe('GET /openapi.json and /docs', () => {
  it('answer without a key; the page loads only its own files, under a policy allowing no others', async () => {
    const t = await startDocApp();
    const json = await t.app.inject({ url: '/openapi.json' });
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);

    const page = await t.app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*/);
    // Every script and style the page names is served here, without a key.
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//);
      const res = await t.app.inject({ url: new URL(asset, 'http://x/docs').pathname });
      expect(res.statusCode, asset).toBe(200);
    }
    const init = await t.app.inject({ url: '/docs/static/swagger-initializer.js' });
    // The document it shows is this one, and nothing is sent to an online validator.
    expect(init.body).toContain("resolveUrl('./json')");
    expect(init.body).toMatch(/validatorUrl: (null|false)/);
    const uiJson = await t.app.inject({ url: '/docs/json' });
    expect(uiJson.json()).toEqual(json.json());
    // No file outside Swagger UI's folder, and refusals in Echonet's own words.
    const missing = await t.app.inject({ url: '/docs/static/nothing.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      ok: false,
      error: 'no such page: /docs/static/nothing.js',
    });
    for (const url of [
      '/docs/%2e%2e%2f%2e%2e%2fpackage.json',
      '/docs/static/..%2f..%2fpackage.json',
    ]) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.json(), url).toMatchObject({ ok: false });
    }
  });

  it('keeps every other route behind the key', async () => {
    const t = await startDocApp();
    for (const url of ['/targets', '/config', '/events']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(401);
    }
  });
});
