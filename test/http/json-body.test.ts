/**
 * The JSON body parser keeps the protection Fastify's own parser has (secure-json-parse, with
 * `__proto__` and `constructor.prototype` keys refused): a 400 naming the problem, never a 500 and
 * never a registration.
 */
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/http/json-body.js';
import { startTestApp } from '../helpers/app.js';

const POISON_MESSAGE =
  'body must not contain a "__proto__" key or a "constructor" object with a "prototype" key';

describe('JSON bodies', () => {
  it.each([
    [
      'a __proto__ key',
      '{"__proto__": {"admin": true}, "name": "p", "base_url": "http://127.0.0.1:9", "phrases": ["hey p"]}',
    ],
    [
      'an escaped __proto__ key',
      '{"\\u005f_proto__": {"admin": true}, "name": "p", "base_url": "http://127.0.0.1:9", "phrases": ["hey p"]}',
    ],
    [
      'a nested __proto__ key',
      '{"name": "p", "base_url": "http://127.0.0.1:9", "phrases": ["hey p"], "x": [{"__proto__": {}}]}',
    ],
    [
      'constructor.prototype',
      '{"constructor": {"prototype": {"admin": true}}, "name": "p", "base_url": "http://127.0.0.1:9", "phrases": ["hey p"]}',
    ],
  ])('refuses %s with a 400 that says so, registering nothing', async (_what, payload) => {
    const t = await startTestApp();
    const res = await t.request({
      method: 'POST',
      url: '/register',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toEqual({ ok: false, error: POISON_MESSAGE, detail: POISON_MESSAGE });
    expect(t.store.targets.count()).toBe(0);
  });

  it('still accepts "constructor" and "prototype" as plain values and keys that poison nothing', () => {
    expect(
      parseJsonBody('{"text": "constructor prototype __proto__", "constructor": "x"}'),
    ).toEqual({
      text: 'constructor prototype __proto__',
      constructor: 'x',
    });
    expect(parseJsonBody('{"constructor": {"name": "x"}}')).toEqual({ constructor: { name: 'x' } });
    expect(parseJsonBody('null')).toBeNull();
    expect(parseJsonBody('"text"')).toBe('text');
  });

  it('answers invalid JSON and an empty JSON body with a 400 saying what is wrong', async () => {
    const t = await startTestApp();
    const send = (payload: string) =>
      t.request({
        method: 'POST',
        url: '/text',
        headers: { 'content-type': 'application/json' },
        payload,
      });
    const invalid = await send('{"source_id": "s", "text": ');
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json<{ error: string }>().error).toMatch(/^body is not valid JSON: /);
    // Content-Type: application/json with Content-Length: 0 reaches the parser with '': the branch
    // that lets the schema answer is live (without it: "body is not valid JSON: Unexpected end").
    const empty = await send('');
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toEqual({
      ok: false,
      error: 'body must be an object',
      detail: 'body must be an object',
    });
  });
});
