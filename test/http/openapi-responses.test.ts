/**
 * What every route really answers, success and errors, validates against the response GET
 * /openapi.json documents for that status; and the documented schema neither drops nor changes
 * anything the route returned (the serializer works from the same schema).
 */
import { describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { request as httpRequest } from 'undici';
import { ADMIN_KEY, API_KEY } from '../helpers/app.js';
import {
  ResponseValidator,
  startDocApp,
  type DocApp,
  type OpenApiDocument,
} from '../helpers/openapi.js';
import { recordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait.js';
import { DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { inlineTableBuilder } from '../../src/routing/table-builder.js';

let target: RecordingTarget | undefined;

const KEYS = { 'x-api-key': API_KEY, 'x-admin-key': ADMIN_KEY };

interface Case {
  /** The documented operation: method and OpenAPI path. */
  readonly op: string;
  readonly status: number;
  readonly request: InjectOptions;
}

/** Checks answers against the document and remembers which operations and statuses it saw. */
class Checker {
  readonly checked = new Map<string, Set<number>>();
  readonly #validator: ResponseValidator;
  constructor(
    readonly t: DocApp,
    readonly doc: OpenApiDocument,
  ) {
    this.#validator = new ResponseValidator(doc);
  }

  /** Sends the request (with both keys unless the case sets headers) and checks the answer. */
  async check(c: Case): Promise<LightMyRequestResponse> {
    const [method, path] = c.op.split(' ') as [string, string];
    this.t.payloads.clear();
    const res = await this.t.app.inject({
      method: method as InjectOptions['method'],
      ...c.request,
      headers: { ...KEYS, ...(c.request.headers as Record<string, string>) },
    });
    const what = `${c.op} (${String(c.request.url)}) answered ${res.statusCode}: ${res.body}`;
    expect(res.statusCode, what).toBe(c.status);
    const mediaType = String(res.headers['content-type']).split(';')[0]!;
    const validate = this.#validator.validator(this.doc, path, method, res.statusCode, mediaType);
    expect(validate, `${what}: status or ${mediaType} not documented`).toBeDefined();
    const body: unknown = mediaType === 'application/json' ? res.json() : res.body;
    expect(validate!(body), `${what}: ${JSON.stringify(validate!.errors)}`).toBe(true);
    // What the handler gave, before the serializer (absent for refusals before routing).
    const [given] = [...this.t.payloads.values()];
    if (given !== undefined) expect(body, what).toEqual(JSON.parse(JSON.stringify(given)));
    const seen = this.checked.get(c.op) ?? new Set<number>();
    seen.add(res.statusCode);
    this.checked.set(c.op, seen);
    return res;
  }
}

/** Every documented operation as `METHOD /path`. */
function operations(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/** A real URL for an operation's path: each `{param}` filled with `value`. */
function fill(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

describe('documented responses match what the routes answer', () => {
  it('every route, its success and its errors', async () => {
    target ??= await recordingTarget();
    const t = await startDocApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const doc = await t.document();
    const c = new Checker(t, doc);
    const json = (payload: object) => ({ payload });

    await c.check({ op: 'GET /openapi.json', status: 200, request: { url: '/openapi.json' } });
    await c.check({ op: 'GET /health', status: 200, request: { url: '/health' } });
    await c.check({ op: 'GET /handshake', status: 200, request: { url: '/handshake' } });
    await c.check({ op: 'GET /metrics', status: 200, request: { url: '/metrics' } });
    await c.check({ op: 'GET /front-ends', status: 200, request: { url: '/front-ends' } });

    // Targets.
    const astraea = { name: 'astraea', base_url: target.url, phrases: ['hey astraea'] };
    await c.check({
      op: 'POST /register',
      status: 200,
      request: { url: '/register', ...json(astraea) },
    });
    await c.check({
      op: 'POST /register',
      status: 409,
      request: { url: '/register', ...json({ ...astraea, name: 'copycat' }) },
    });
    await c.check({
      op: 'POST /register',
      status: 400,
      request: { url: '/register', ...json({ ...astraea, phrases: [''] }) },
    });
    await c.check({
      op: 'POST /register',
      status: 200,
      request: {
        url: '/register',
        ...json({ name: 'doomed', base_url: target.url, phrases: ['hey doomed'] }),
      },
    });

    // Utterances: forwarded (a session opens), not handled, refused.
    target.behave({ kind: 'answer', body: JSON.stringify({ reply: 'It is noon.' }) });
    const said = await c.check({
      op: 'POST /text',
      status: 200,
      request: {
        url: '/text',
        ...json({ source_id: 'kitchen', room: 'kitchen', text: 'hey astraea what time is it' }),
      },
    });
    expect(said.json()).toMatchObject({ handled: true, forwarded: true });
    await c.check({
      op: 'POST /text',
      status: 200,
      request: { url: '/text', ...json({ source_id: 'hall', text: 'nobody in particular' }) },
    });
    await c.check({
      op: 'POST /text',
      status: 400,
      request: { url: '/text', ...json({ source_id: 'hall', text: 7 }) },
    });
    await c.check({
      op: 'POST /route/preview',
      status: 200,
      request: { url: '/route/preview', ...json({ text: 'hey astraea lights on' }) },
    });
    await c.check({
      op: 'POST /route/preview',
      status: 200,
      request: { url: '/route/preview', ...json({ text: 'lights on' }) },
    });
    await c.check({ op: 'GET /targets', status: 200, request: { url: '/targets' } });

    // Sessions: one is open for the kitchen.
    const sessions = await c.check({
      op: 'GET /sessions',
      status: 200,
      request: { url: '/sessions' },
    });
    expect(sessions.json().sessions).toHaveLength(1);
    await c.check({
      op: 'POST /sessions/{source_id}/end',
      status: 200,
      request: { url: '/sessions/kitchen/end' },
    });
    await c.check({
      op: 'DELETE /sessions/{source_id}',
      status: 200,
      request: { url: '/sessions/kitchen' },
    });

    // The decision log: the forwarded utterance, once written.
    const eventId = said.json().event_id as string;
    await waitFor(
      async () =>
        (await t.app.inject({ url: `/events/${eventId}`, headers: KEYS })).statusCode === 200,
      {
        what: 'the decision to be logged',
      },
    );
    const events = await c.check({ op: 'GET /events', status: 200, request: { url: '/events' } });
    expect(events.json().count).toBeGreaterThan(0);
    await c.check({
      op: 'GET /events',
      status: 200,
      request: { url: '/events?limit=1&source_id=kitchen' },
    });
    await c.check({ op: 'GET /events', status: 400, request: { url: '/events?limit=0' } });
    await c.check({ op: 'GET /events/{id}', status: 200, request: { url: `/events/${eventId}` } });
    await c.check({
      op: 'GET /events/{id}',
      status: 404,
      request: { url: '/events/nothing-here' },
    });
    await c.check({
      op: 'GET /events/stream',
      status: 400,
      request: { url: '/events/stream?mode=nap' },
    });

    // Listen modes.
    await c.check({ op: 'GET /state', status: 200, request: { url: '/state' } });
    const put = (body: object) => ({ url: '/state', ...json({ source: 'test', ...body }) });
    await c.check({
      op: 'PUT /state',
      status: 200,
      request: put({ target: 'astraea', state: 'active', source_id: 'kitchen' }),
    });
    await c.check({ op: 'GET /state', status: 200, request: { url: '/state' } });
    await c.check({
      op: 'PUT /state',
      status: 200,
      request: put({ target: 'astraea', state: 'trigger', source_id: 'kitchen' }),
    });
    await c.check({
      op: 'PUT /state',
      status: 404,
      request: put({ target: 'nobody', state: 'active' }),
    });
    await c.check({
      op: 'PUT /state',
      status: 400,
      request: put({ target: 'astraea', state: 'asleep' }),
    });
    await c.check({
      op: 'GET /state/history',
      status: 200,
      request: { url: '/state/history?limit=5' },
    });
    await c.check({
      op: 'GET /state/history',
      status: 400,
      request: { url: '/state/history?limit=many' },
    });

    // Settings.
    await c.check({ op: 'GET /config', status: 200, request: { url: '/config' } });
    await c.check({
      op: 'GET /config/{key}',
      status: 200,
      request: { url: '/config/session_timeout_s' },
    });
    await c.check({ op: 'GET /config/{key}', status: 404, request: { url: '/config/volume' } });
    const setting = (value: unknown) => ({ url: '/config/match_min_score', ...json({ value }) });
    await c.check({ op: 'PUT /config/{key}', status: 200, request: setting('0.9') });
    await c.check({ op: 'PUT /config/{key}', status: 400, request: setting('high') });
    await c.check({
      op: 'PUT /config/{key}',
      status: 404,
      request: { url: '/config/volume', ...json({ value: '3' }) },
    });
    await c.check({
      op: 'DELETE /config/{key}',
      status: 200,
      request: { url: '/config/match_min_score' },
    });
    await c.check({ op: 'DELETE /config/{key}', status: 404, request: { url: '/config/volume' } });

    // API keys.
    const added = await c.check({
      op: 'POST /keys',
      status: 200,
      request: { url: '/keys', ...json({ label: 'tablet' }) },
    });
    await c.check({
      op: 'POST /keys',
      status: 400,
      request: { url: '/keys', ...json({ label: '' }) },
    });
    await c.check({ op: 'GET /keys', status: 200, request: { url: '/keys' } });
    await c.check({
      op: 'DELETE /keys/{id}',
      status: 200,
      request: { url: `/keys/${added.json().id}` },
    });
    await c.check({
      op: 'DELETE /keys/{id}',
      status: 404,
      request: { url: `/keys/${added.json().id}` },
    });
    await c.check({ op: 'DELETE /keys/{id}', status: 400, request: { url: '/keys/first' } });

    // Deleting last: a target, and one that is not there.
    await c.check({
      op: 'DELETE /targets/{name}',
      status: 200,
      request: { url: '/targets/doomed' },
    });
    await c.check({
      op: 'DELETE /targets/{name}',
      status: 404,
      request: { url: '/targets/doomed' },
    });

    // The refusals every route can meet, route by route, as the document lists them.
    for (const op of operations(doc)) {
      const [method, path] = op.split(' ') as [string, string];
      const responses = doc.paths[path]![method.toLowerCase()]!.responses;
      const url = fill(path, 'x');
      if (responses['401']) {
        await c.check({ op, status: 401, request: { url, headers: { 'x-api-key': 'wrong' } } });
      }
      if (responses['403']) {
        await c.check({ op, status: 403, request: { url, headers: { 'x-admin-key': 'wrong' } } });
      }
      if (responses['414']) {
        await c.check({ op, status: 414, request: { url: fill(path, 'x'.repeat(101)) } });
        await c.check({ op, status: 400, request: { url: fill(path, '%zz') } });
      }
      if (responses['415']) {
        const headers = { 'content-type': 'text/plain' };
        await c.check({ op, status: 415, request: { url, headers, payload: 'hello' } });
        await c.check({ op, status: 413, request: { url, payload: { text: 'x'.repeat(70_000) } } });
        await c.check({
          op,
          status: 400,
          request: { url, headers: { 'content-type': 'application/json' }, payload: '{"' },
        });
      }
    }

    // Every documented operation was seen succeeding, and refusing.
    for (const op of operations(doc)) {
      const seen = [...(c.checked.get(op) ?? [])];
      if (op === 'GET /events/stream') continue; // Its 200 is a stream: see the next test.
      expect(
        seen.some((s) => s >= 200 && s < 300),
        `${op}: no success checked`,
      ).toBe(true);
      const errors = op === 'GET /health' || op === 'GET /openapi.json' ? 0 : 1;
      expect(seen.filter((s) => s >= 400).length, `${op}: no error checked`).toBeGreaterThanOrEqual(
        errors,
      );
    }
    const statuses = new Set([...c.checked.values()].flatMap((s) => [...s]));
    expect([...statuses].sort()).toEqual(
      expect.arrayContaining([200, 400, 401, 403, 404, 409, 413, 414, 415]),
    );
  });

  it('the allowlist and rate limits refuse with the documented body', async () => {
    const t = await startDocApp({
      ECHONET_ALLOWLIST: '127.0.0.1',
      ECHONET_RATE_LIMIT_PER_MIN: '3',
    });
    // The document's own request counts: then /health and /targets, and the limit is reached.
    const doc = await t.document();
    const c = new Checker(t, doc);
    await c.check({
      op: 'GET /targets',
      status: 403,
      request: { url: '/targets', remoteAddress: '10.9.8.7' } as InjectOptions,
    });
    await c.check({ op: 'GET /health', status: 200, request: { url: '/health' } });
    await c.check({ op: 'GET /targets', status: 200, request: { url: '/targets' } });
    await c.check({ op: 'GET /targets', status: 429, request: { url: '/targets' } });
    await c.check({ op: 'GET /health', status: 429, request: { url: '/health' } });
  });

  it('a change saved while the routing table cannot be rebuilt answers the documented 503', async () => {
    // The first table builds; every rebuild after it fails, as when the build worker dies.
    const t = await startDocApp(
      { ECHONET_ADMIN_KEY: ADMIN_KEY },
      {
        tableBuilder: (store) => {
          const inline = inlineTableBuilder(() => store.targets.snapshot(), DEFAULT_MATCH_OPTIONS);
          let builds = 0;
          return {
            build: () =>
              builds++ === 0 ? inline.build() : Promise.reject(new Error('worker exited')),
            close: () => inline.close(),
          };
        },
      },
    );
    const c = new Checker(t, await t.document());
    target ??= await recordingTarget();
    const astraea = { name: 'astraea', base_url: target.url, phrases: ['hey astraea'] };
    const stale = await c.check({
      op: 'POST /register',
      status: 503,
      request: { url: '/register', payload: astraea },
    });
    expect(stale.json().error).toContain('routing table could not be rebuilt');
    await c.check({
      op: 'DELETE /targets/{name}',
      status: 503,
      request: { url: '/targets/astraea' },
    });
    const setting = { url: '/config/match_min_score', payload: { value: '0.9' } };
    await c.check({ op: 'PUT /config/{key}', status: 503, request: setting });
    await c.check({
      op: 'DELETE /config/{key}',
      status: 503,
      request: { url: '/config/match_min_score' },
    });
  });

  it('GET /events/stream answers the documented media type', async () => {
    const t = await startDocApp();
    const doc = await t.document();
    const documented = doc.paths['/events/stream']!.get!.responses['200']!.content!;
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const controller = new AbortController();
    const res = await httpRequest(`http://127.0.0.1:${port}/events/stream?key=${API_KEY}`, {
      signal: controller.signal,
    });
    expect(res.statusCode).toBe(200);
    const type = String(res.headers['content-type']).split(';')[0]!;
    expect(Object.keys(documented)).toEqual([type]);
    controller.abort();
    await res.body.text().catch(() => {});
  });
});
