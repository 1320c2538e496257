/**
 * Bad input, generated: fast-check drives real requests through inject() at every endpoint with
 * random JSON, wrong types, huge strings, deep nesting, unicode edge cases, SQL-looking text and
 * path tricks. Whatever arrives: never a 5xx, every 4xx is `{ok:false, error}`, the app keeps
 * answering, and a refused request leaves the registry exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ADMIN_KEY, API_KEY, register, startTestApp, type TestApp } from '../helpers/app.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait.js';

/** Runs per endpoint; the whole file stays well under 20 s. */
const RUNS = 400;

let t: TestApp;
let target: RecordingTarget;
let tried = 0;
const statuses = new Map<number, number>();

beforeAll(async () => {
  target = await startRecordingTarget();
  t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY, ECHONET_HTTP_TIMEOUT_S: '0.5' });
  await register(t, 'alpha', target.url, ['hey alpha', 'hello alpha']);
  await register(t, 'bravo', target.url, ['hey bravo']);
});

afterAll(async () => {
  await target?.close();
  const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
  console.log(`fuzz: ${tried} requests tried over 18 endpoints (${summary.join(', ')})`);
});

// ---- the generators -----------------------------------------------------------------------

const specials = fc.constantFrom(
  '\uD800', // lone high surrogate
  '\uDFFF', // lone low surrogate
  'hey alpha\uD83D',
  '\u200B\u200C\u200D\uFEFF', // zero-width
  'hey\u200Balpha',
  '\u202Eahpla yeh\u202C', // right-to-left override
  'مرحبا alpha \u061C',
  '👩‍👩‍👧‍👦🔔🏳️‍🌈',
  'hey alpha 🔔',
  '\u0000',
  'alpha\u0000',
  'e\u0301\u0301\u0301\u0301',
  "'; DROP TABLE targets; --",
  '" OR 1=1 --',
  "alpha' OR '1'='1",
  'alpha); DELETE FROM targets; --',
  '%s%s%n',
  '${process.exit()}',
  '__proto__',
  'constructor',
  '',
  ' ',
  '\t\n\r',
);

const nastyString = fc.oneof(
  specials,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => `hey ${String.fromCharCode(c)} alpha`),
  fc.integer({ min: 101, max: 20_000 }).map((n) => 'ä'.repeat(n)),
);

const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
);

const anyValue = fc.oneof(nastyString, wrongType, fc.jsonValue({ maxDepth: 3 }));

/** Bodies shaped like the real one (each field valid, nasty or the wrong type), or anything. */
function shaped(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const entries = Object.fromEntries(
    Object.entries(fields).map(([k, valid]) => [k, fc.oneof(valid, anyValue)]),
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.record(entries, { requiredKeys: [] }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.record(entries), fc.dictionary(nastyString, anyValue, { maxKeys: 3 }))
        .map(([a, b]) => ({ ...b, ...a })),
    },
    { weight: 1, arbitrary: anyValue },
  );
}

/** Raw bodies: invalid JSON, deep nesting, huge documents, other content types. */
const rawBody = fc.oneof(
  fc.integer({ min: 1, max: 30_000 }).map((d) => ({ payload: '['.repeat(d) + ']'.repeat(d) })),
  fc
    .integer({ min: 1, max: 10_000 })
    .map((d) => ({ payload: '{"a":'.repeat(d) + '1' + '}'.repeat(d) })),
  fc.integer({ min: 1, max: 3000 }).map((d) => ({ payload: '{"text":'.repeat(d) })),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => ({ payload: s })),
  fc
    .constantFrom('', 'null', '[]', '""', '{', '{"text":"hey alpha"', '\uFEFF{}', 'NaN')
    .map((s) => ({ payload: s })),
  fc.integer({ min: 60_000, max: 200_000 }).map((n) => ({
    payload: JSON.stringify({ text: 'x'.repeat(n) }),
  })),
  fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'application/jsonx',
        '',
      ),
      fc.string({ maxLength: 50 }),
    )
    .map(([type, s]) => ({ payload: s, contentType: type })),
);

type Body = { json: unknown } | { payload: string; contentType?: string };
const body = (shape: fc.Arbitrary<unknown>): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 4, arbitrary: shape.map((json) => ({ json })) },
    { weight: 1, arbitrary: rawBody },
  );

const pathTrick = fc.oneof(
  fc.constantFrom(
    '..',
    '../',
    '../alpha',
    '..%2f..%2fetc%2fpasswd',
    '%2e%2e',
    '%2e%2e%2f',
    '%252e%252e%252f',
    'alpha%2f..%2fbravo',
    'alpha%2F',
    '%2F',
    '%5c..%5c',
    '..%5c',
    '%00',
    'alpha%00',
    'ALPHA%00.json',
    '%zz',
    '%',
    '%%',
    '%E0%A4%A',
    '%C0%AE%C0%AE',
    '%ED%A0%80', // an encoded lone surrogate
    '%F0%9F%94%94',
    '%20alpha',
    'a'.repeat(300),
    "alpha'%20OR%20'1'%3D'1",
    '*',
    '.',
  ),
  nastyString.map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?'))),
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map((s) => s.replace(/[?#]/g, '')),
);

const validName = fc.stringMatching(/^[a-z0-9_-]{1,32}$/);
const validUrl = fc.constantFrom('http://127.0.0.1:9', 'https://assistant.lan:8443/base/');
const phrases = fc.array(fc.oneof(fc.constantFrom('hey alpha', 'hey charlie'), nastyString), {
  maxLength: 40,
});

/** The key headers: usually right, sometimes wrong or missing. */
const keys = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ 'x-api-key': API_KEY, 'x-admin-key': ADMIN_KEY }) },
  { weight: 1, arbitrary: fc.constant({ 'x-api-key': API_KEY }) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 40 })
      .map((k) => ({ 'x-api-key': k, 'x-admin-key': k })),
  },
);

// ---- the checks --------------------------------------------------------------------------

function registrySnapshot(): string {
  return JSON.stringify(t.store.targets.all());
}

/** GET /targets as the registry sees it (live health counters left out: they are not the registry). */
async function listedTargets(): Promise<string> {
  const res = await t.request({ method: 'GET', url: '/targets' });
  expect(res.statusCode).toBe(200);
  const { targets } = res.json<{ targets: Record<string, unknown>[] }>();
  return JSON.stringify(
    targets.map(({ name, base_url, listen_url, phrases }) => ({
      name,
      base_url,
      listen_url,
      phrases,
    })),
  );
}

/**
 * The answer to a request. A wake in a room with two known sources (`door` and `kitchen` both say
 * `room: hall`) waits the arbitration window on the test's clock, which only moves when told: once
 * the request is waiting, the window is let pass.
 */
async function answered(pending: Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
  let done = false;
  void pending.then(
    () => (done = true),
    () => (done = true),
  );
  for (;;) {
    await waitFor(() => done || t.app.rooms.waiting > 0, {
      what: 'an answer, or the request waiting for other microphones',
      intervalMs: 0,
    });
    if (done) return pending;
    t.clock.advance(t.config.arbitrationWindowMs / 1000);
  }
}

async function send(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  b: Body | undefined,
  headers: Record<string, string>,
): Promise<LightMyRequestResponse> {
  const opts: InjectOptions = { method, url, headers: { ...headers } };
  if (b && 'json' in b) {
    opts.payload = JSON.stringify(b.json) ?? 'null';
    opts.headers = { ...opts.headers, 'content-type': 'application/json' };
  } else if (b) {
    opts.payload = b.payload;
    if (b.contentType !== '')
      opts.headers = { ...opts.headers, 'content-type': b.contentType ?? 'application/json' };
  }
  const before = registrySnapshot();
  const listedBefore = await listedTargets();
  const res = await answered(t.app.inject(opts));
  tried++;
  statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);

  const where = `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  expect(res.headers['x-content-type-options'], where).toBe('nosniff');
  const parsed = JSON.parse(res.body) as Record<string, unknown>;
  if (res.statusCode >= 400) {
    expect(Object.keys(parsed).sort(), where).toEqual(['detail', 'error', 'ok']);
    expect(parsed.ok, where).toBe(false);
    expect(typeof parsed.error, where).toBe('string');
    expect(parsed.detail, where).toBe(parsed.error);
    expect(registrySnapshot(), where).toBe(before);
    expect(await listedTargets(), where).toBe(listedBefore);
  }
  return res;
}

const check = <T extends unknown[]>(prop: fc.IAsyncProperty<T>) =>
  fc.assert(prop, { numRuns: RUNS });

// ---- the endpoints -----------------------------------------------------------------------

describe('fuzzing every endpoint', () => {
  it('POST /register', async () => {
    const shape = shaped({ name: validName, base_url: validUrl, phrases });
    await check(
      fc.asyncProperty(body(shape), keys, async (b, h) => {
        await send('POST', '/register', b, h);
      }),
    );
  });

  it('GET /targets', async () => {
    await check(
      fc.asyncProperty(pathTrick, keys, async (q, h) => {
        await send('GET', `/targets?${q}=${q}`, undefined, h);
      }),
    );
  });

  it('DELETE /targets/{name}', async () => {
    await check(
      fc.asyncProperty(pathTrick, keys, async (name, h) => {
        // Deleting a real target is allowed; put it back so later runs have something to protect.
        const res = await send('DELETE', `/targets/${name}`, undefined, h);
        if (res.statusCode === 200) await register(t, 'alpha', target.url, ['hey alpha']);
      }),
    );
  });

  it('POST /text', async () => {
    const shape = shaped({
      source_id: fc.constantFrom('door', 'kitchen'),
      room: fc.constantFrom('hall', null),
      ts: fc.double({ min: 0, max: 1e10, noNaN: true }),
      text: fc.oneof(fc.constantFrom('hey alpha open', 'hey bravo', 'cancel'), nastyString),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    await check(
      fc.asyncProperty(body(shape), keys, async (b, h) => {
        await send('POST', '/text', b, h);
      }),
    );
  });

  it('POST /route/preview', async () => {
    const shape = shaped({
      text: fc.oneof(fc.constantFrom('hey alpha', 'hello alpha there'), nastyString),
      source_id: fc.constantFrom('door'),
    });
    await check(
      fc.asyncProperty(body(shape), keys, async (b, h) => {
        await send('POST', '/route/preview', b, h);
      }),
    );
  });

  it('GET /sessions', async () => {
    await check(
      fc.asyncProperty(pathTrick, keys, async (q, h) => {
        await send('GET', `/sessions?source_id=${q}`, undefined, h);
      }),
    );
  });

  it('POST /sessions/{id}/end', async () => {
    await check(
      fc.asyncProperty(pathTrick, fc.option(body(anyValue)), keys, async (id, b, h) => {
        await send('POST', `/sessions/${id}/end`, b ?? undefined, h);
      }),
    );
  });

  it('DELETE /sessions/{id}', async () => {
    await check(
      fc.asyncProperty(pathTrick, keys, async (id, h) => {
        await send('DELETE', `/sessions/${id}`, undefined, h);
      }),
    );
  });

  it('GET /handshake', async () => {
    await check(
      fc.asyncProperty(pathTrick, keys, async (q, h) => {
        await send('GET', `/handshake?${q}`, undefined, h);
      }),
    );
  });

  it('POST /keys', async () => {
    const shape = shaped({
      label: fc.oneof(fc.constantFrom('door', 'kitchen tablet'), nastyString),
    });
    await check(
      fc.asyncProperty(body(shape), keys, async (b, h) => {
        const before = JSON.stringify(t.store.keys.list());
        const res = await send('POST', '/keys', b, h);
        if (res.statusCode >= 400) expect(JSON.stringify(t.store.keys.list())).toBe(before);
      }),
    );
  });

  it('GET /keys, DELETE /keys/{id}', async () => {
    await check(
      fc.asyncProperty(pathTrick, keys, async (id, h) => {
        await send('GET', `/keys?${id}=${id}`, undefined, h);
        const before = JSON.stringify(t.store.keys.list());
        const res = await send('DELETE', `/keys/${id}`, undefined, h);
        if (res.statusCode >= 400) expect(JSON.stringify(t.store.keys.list())).toBe(before);
      }),
    );
  });

  it('PUT /state, GET /state, GET /state/history', async () => {
    const shape = shaped({
      target: fc.constantFrom('alpha', 'bravo', 'nobody'),
      source: fc.constantFrom('llm', 'fuzz'),
      state: fc.constantFrom('inactive', 'trigger', 'active', 'asleep'),
      reason: fc.constantFrom('because', ''),
      source_id: fc.constantFrom('door', 'kitchen'),
    });
    const settings = () => JSON.stringify(t.store.settings.all());
    await check(
      fc.asyncProperty(body(shape), pathTrick, keys, async (b, q, h) => {
        const before = settings();
        const res = await send('PUT', '/state', b, h);
        if (res.statusCode >= 400) expect(settings()).toBe(before);
        await send('GET', `/state?${q}=${q}`, undefined, h);
        await send('GET', `/state/history?name=${q}&limit=${q}`, undefined, h);
      }),
    );
    // Back to the default for the tests after this one.
    for (const source_id of [undefined, 'door', 'kitchen']) {
      const res = await t.request({
        method: 'PUT',
        url: '/state',
        payload: { target: 'alpha', source: 'fuzz', state: 'trigger', source_id },
      });
      expect(res.statusCode).toBe(200);
    }
  });

  it('GET /config, GET/PUT/DELETE /config/{key}', async () => {
    const key = fc.oneof(
      fc.constantFrom('session_timeout_s', 'match_min_score', 'cancel_phrases', 'volume'),
      pathTrick,
    );
    const shape = shaped({
      value: fc.oneof(
        fc.constantFrom('true', '0.9', '30', 'cancel,stop', '-3', 'high'),
        nastyString,
      ),
      reason: fc.constantFrom('fuzz'),
    });
    const stored = () => JSON.stringify(t.store.config.all());
    await check(
      fc.asyncProperty(key, body(shape), keys, async (k, b, h) => {
        await send('GET', `/config?${k}`, undefined, h);
        await send('GET', `/config/${k}`, undefined, h);
        const before = stored();
        const res = await send('PUT', `/config/${k}`, b, h);
        if (res.statusCode >= 400) expect(stored()).toBe(before);
        if (res.statusCode < 400) await send('DELETE', `/config/${k}`, undefined, h);
      }),
    );
    for (const k of ['session_timeout_s', 'match_min_score', 'cancel_phrases', 'match_fuzzy']) {
      await t.request({ method: 'DELETE', url: `/config/${k}` });
    }
  });

  it('GET /events, GET /events/{id}', async () => {
    await check(
      fc.asyncProperty(pathTrick, pathTrick, keys, async (q, id, h) => {
        await send(
          'GET',
          `/events?limit=${q}&before=${q}&source_id=${q}&target=${q}&mode=${q}&q=${q}`,
          undefined,
          h,
        );
        await send('GET', `/events/${id}`, undefined, h);
      }),
    );
  });

  it('GET /health', async () => {
    await check(
      fc.asyncProperty(pathTrick, fc.option(keys), async (q, h) => {
        await send('GET', `/health?${q}`, undefined, h ?? {});
      }),
    );
  });

  it('still answers, routes and keeps the targets it had', async () => {
    const res = await t.request({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const names = t.store.targets.all().map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['alpha', 'bravo']));
    const routed = await t.request({
      method: 'POST',
      url: '/route/preview',
      payload: { text: 'hey bravo what time is it' },
    });
    expect(routed.json()).toMatchObject({ routed_to: 'bravo' });
  });
});
