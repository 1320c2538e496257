/**
 * Every refusal keeps `{ok:false, error}` and repeats the message as `detail`, where clients written
 * for the Python service (FastAPI's `{detail}`) look for it: one request per way an error is made
 * (the error handler, the 404 handler, Fastify's own unroutable requests).
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, register, startTestApp } from '../helpers/app.js';
import { rawRequest } from '../helpers/raw-http.js';

interface Case {
  readonly name: string;
  readonly status: number;
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

const json = { 'content-type': 'application/json' };

const CASES: readonly Case[] = [
  {
    name: 'missing API key',
    status: 401,
    method: 'GET',
    url: '/targets',
    headers: { 'x-api-key': '' },
  },
  {
    name: 'wrong API key',
    status: 401,
    method: 'GET',
    url: '/targets',
    headers: { 'x-api-key': 'nope' },
  },
  {
    name: 'wrong admin key',
    status: 403,
    method: 'DELETE',
    url: '/targets/astraea',
    headers: { 'x-admin-key': 'nope' },
  },
  { name: 'unknown route', status: 404, method: 'GET', url: '/nope' },
  { name: 'unknown target', status: 404, method: 'DELETE', url: '/targets/nobody' },
  {
    name: 'validation',
    status: 400,
    method: 'POST',
    url: '/text',
    headers: json,
    body: '{"text":"hi"}',
  },
  { name: 'bad JSON', status: 400, method: 'POST', url: '/text', headers: json, body: '{"text":' },
  {
    name: 'wrong media type',
    status: 415,
    method: 'POST',
    url: '/text',
    headers: { 'content-type': 'text/plain' },
    body: 'hi',
  },
  {
    name: 'body too large',
    status: 413,
    method: 'POST',
    url: '/text',
    headers: json,
    body: JSON.stringify({ source_id: 'door', text: 'x'.repeat(70_000) }),
  },
  {
    name: 'phrase conflict',
    status: 409,
    method: 'POST',
    url: '/register',
    headers: json,
    body: JSON.stringify({ name: 'other', base_url: 'http://b:1', phrases: ['hey astraea'] }),
  },
  // Fastify answers these without a hook or the error handler (frameworkErrors).
  { name: 'bad percent-encoding', status: 400, method: 'DELETE', url: '/targets/%E0%A4%A' },
  {
    name: 'over-long path segment',
    status: 414,
    method: 'DELETE',
    url: `/targets/${'a'.repeat(200)}`,
  },
];

describe('error bodies carry detail beside error', () => {
  it.each(CASES)('$name: $status', async (c) => {
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    await register(t, 'astraea', 'http://a:1', ['hey astraea']);
    const res = await t.request({
      method: c.method as 'GET',
      url: c.url,
      headers: c.headers,
      ...(c.body !== undefined && { payload: c.body }),
    });
    expect(res.statusCode, res.body).toBe(c.status);
    const body = res.json<{ ok: boolean; error: string; detail: string }>();
    expect(body).toEqual({ ok: false, error: expect.any(String), detail: body.error });
    expect(body.error.length).toBeGreaterThan(0);
  });

  it('on a real socket too, for a refused client and a rate-limited one', async () => {
    const t = await startTestApp({
      ECHONET_ALLOWLIST: '10.0.0.5',
      ECHONET_RATE_LIMIT_PER_MIN: '1',
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const refused = await rawRequest(port, 'GET', '/targets', { 'x-api-key': API_KEY });
    expect(refused.status).toBe(403);
    const body = JSON.parse(refused.body) as { error: string; detail: string };
    expect(body.detail).toBe(body.error);
    expect(body.error).toContain('not allowed');

    const limited = await startTestApp({ ECHONET_RATE_LIMIT_PER_MIN: '1' });
    await limited.request({ method: 'GET', url: '/targets' });
    const over = await limited.request({ method: 'GET', url: '/targets' });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toEqual({
      ok: false,
      error: expect.stringMatching(/rate limit/),
      detail: over.json().error,
    });
  });
});
