/**
 * The API-key check (constant-time on every path, no per-connection shortcut) and the key routes:
 * POST /keys, GET /keys, DELETE /keys/{id}, behind the admin key, keys stored as digests only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { Client } from 'undici';
import { describe, expect, it } from 'vitest';
import { afterFile } from '../helpers/cleanup.js';
import { buildApp } from '../../src/app.js';
import { ApiKeyRing, matchesAnyKey, registerAuth } from '../../src/http/auth.js';
import { openStore } from '../../src/store/store.js';
import { ADMIN_KEY, API_KEY, startTestApp, testConfig, type TestApp } from '../helpers/app.js';
import { tempDbPath } from '../helpers/temp.js';

/** A keep-alive client on one connection, and how many connections the server has seen. */
async function oneConnection(app: {
  listen: TestApp['app']['listen'];
  server: TestApp['app']['server'];
}) {
  let connections = 0;
  app.server.on('connection', () => connections++);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const client = new Client(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, {
    pipelining: 1,
  });
  afterFile(() => client.close());
  const request = async (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ) => {
    const res = await client.request({
      method,
      path,
      headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  return { request, connections: () => connections };
}

describe('the key comparison', () => {
  it('compares every stored digest with timingSafeEqual for every candidate, right or wrong', () => {
    const keys = ['first-key-aaaaaaaaaaaaaaaa', 'second-key-bbbbbbbbbbbbbbbb', 'third'];
    const ring = new ApiKeyRing(keys);
    let calls = 0;
    const counted = (a: Buffer, b: Buffer) => {
      calls++;
      expect(a).toHaveLength(32);
      expect(b).toHaveLength(32);
      return timingSafeEqual(a, b);
    };
    for (const [candidate, expected] of [
      [keys[0], true],
      [keys[2], true],
      ['first-key-aaaaaaaaaaaaaaab', false],
      ['f', false],
      ['', false],
      ['x'.repeat(10_000), false],
    ] as const) {
      calls = 0;
      expect(matchesAnyKey(ring.digests, candidate ?? '', counted)).toBe(expected);
      expect(calls, JSON.stringify(candidate)).toBe(keys.length);
    }
  });

  it('makes the same comparisons for a repeated key on a kept-alive connection (no shortcut)', async () => {
    let calls = 0;
    const app = Fastify();
    registerAuth(app, {
      apiKeys: new ApiKeyRing([API_KEY, 'other-key-cccccccccccccccc']),
      adminKey: undefined,
      equal: (a, b) => {
        calls++;
        return timingSafeEqual(a, b);
      },
    });
    app.get('/probe', async () => ({ ok: true }));
    afterFile(() => app.close());
    const c = await oneConnection(app);
    for (let i = 0; i < 5; i++) {
      calls = 0;
      expect((await c.request('GET', '/probe', { 'x-api-key': API_KEY })).status).toBe(200);
      expect(calls, `request ${i}`).toBe(2);
    }
    expect(c.connections()).toBe(1);
  });
});

describe('one connection shared by many clients (behind a proxy)', () => {
  it('judges every request by its own key: a wrong key after a right one is a 401', async () => {
    const t = await startTestApp({ ECHONET_TRUST_PROXY: '127.0.0.1' });
    const c = await oneConnection(t.app);
    const list = (key: string, client: string) =>
      c.request('GET', '/targets', { 'x-api-key': key, 'x-forwarded-for': client });
    expect((await list(API_KEY, '10.0.0.1')).status).toBe(200);
    const wrong = await list(`${API_KEY.slice(0, -1)}x`, '10.0.0.2');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ ok: false, error: 'invalid API key', detail: 'invalid API key' });
    expect((await list('', '10.0.0.3')).status).toBe(401);
    expect((await list(API_KEY, '10.0.0.1')).status).toBe(200);
    expect(c.connections()).toBe(1);
  });
});

describe('the /keys routes', () => {
  const admin = { 'x-api-key': API_KEY, 'x-admin-key': ADMIN_KEY };

  it('create a key that works at once, list it without the key, and revoke it at once', async () => {
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const c = await oneConnection(t.app);
    const created = await c.request('POST', '/keys', admin, { label: '  kitchen tablet ' });
    expect(created.status).toBe(200);
    const { id, key } = created.body as { id: number; key: string };
    expect(created.body).toEqual({
      ok: true,
      id,
      label: 'kitchen tablet',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      key,
    });
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The environment key keeps working beside it.
    expect((await c.request('GET', '/targets', { 'x-api-key': key })).status).toBe(200);
    expect((await c.request('GET', '/targets', { 'x-api-key': API_KEY })).status).toBe(200);

    const listed = await c.request('GET', '/keys', admin);
    expect(listed.body).toEqual({
      ok: true,
      keys: [{ id, label: 'kitchen tablet', created_at: created.body.created_at }],
    });

    // Only the digest is stored.
    const db = new Database(t.config.dbPath, { readonly: true });
    const rows = db.prepare('SELECT * FROM echonet_api_keys').all();
    db.close();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows).toEqual([
      expect.objectContaining({ id, key_sha256: createHash('sha256').update(key).digest('hex') }),
    ]);

    // The key's last use on this kept-alive connection, then a revocation over another one.
    expect((await c.request('GET', '/targets', { 'x-api-key': key })).status).toBe(200);
    const revoked = await t.request({ method: 'DELETE', url: `/keys/${id}` });
    expect(revoked.json()).toEqual({ ok: true, revoked: id });
    // The next request on the connection that just used the key is refused.
    const after = await c.request('GET', '/targets', { 'x-api-key': key });
    expect(after).toEqual({
      status: 401,
      body: { ok: false, error: 'invalid API key', detail: 'invalid API key' },
    });
    expect((await c.request('GET', '/keys', admin)).body).toEqual({ ok: true, keys: [] });
    expect(c.connections()).toBe(1);
  });

  it('need the admin key, and are refused when the server has none', async () => {
    const withAdmin = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const noAdmin = { 'x-api-key': API_KEY };
    const post = (t: TestApp, headers: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/keys', headers, payload: { label: 'x' } });
    expect((await post(withAdmin, noAdmin)).statusCode).toBe(401);
    expect((await post(withAdmin, { ...noAdmin, 'x-admin-key': 'wrong' })).statusCode).toBe(403);
    expect((await post(withAdmin, { 'x-admin-key': ADMIN_KEY })).statusCode).toBe(401);

    const without = await startTestApp();
    for (const [method, url] of [
      ['POST', '/keys'],
      ['GET', '/keys'],
      ['DELETE', '/keys/1'],
    ] as const) {
      const res = await without.app.inject({
        method,
        url,
        headers: noAdmin,
        ...(method === 'POST' && { payload: { label: 'x' } }),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json<{ error: string }>().error).toContain('ECHONET_ADMIN_KEY');
    }
    expect(without.store.keys.list()).toEqual([]);
  });

  it('answer bad input with a 400 naming the field, and an unknown id with a 404', async () => {
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const post = async (payload: unknown) => {
      const res = await t.request({ method: 'POST', url: '/keys', payload: payload as object });
      return { status: res.statusCode, error: res.json<{ error?: string }>().error };
    };
    expect(await post({})).toEqual({ status: 400, error: 'body.label is required' });
    expect(await post({ label: '' })).toEqual({
      status: 400,
      error: 'body.label must be at least 1 characters',
    });
    expect(await post({ label: '   ' })).toEqual({
      status: 400,
      error: 'body.label must be 1 to 64 characters without control characters',
    });
    expect((await post({ label: 'a\nforged log line' })).status).toBe(400);
    expect((await post({ label: 'x'.repeat(65) })).status).toBe(400);
    expect((await post({ label: 7 })).error).toBe('body.label must be a string');
    // A caller cannot choose the key: the field is dropped and a random key generated.
    const chosen = await t.request({
      method: 'POST',
      url: '/keys',
      payload: { label: 'x', key: 'chosen-by-caller' },
    });
    expect(chosen.json<{ key: string }>().key).not.toBe('chosen-by-caller');
    t.store.keys.revoke(chosen.json<{ id: number }>().id);
    const del = async (id: string) => {
      const res = await t.request({ method: 'DELETE', url: `/keys/${id}` });
      return { status: res.statusCode, error: res.json<{ error?: string }>().error };
    };
    for (const bad of ['abc', '0', '-1', '1.5', '01', '9'.repeat(20)]) {
      expect(await del(bad), bad).toEqual({
        status: 400,
        error: 'params.id must be a key id (a positive integer)',
      });
    }
    expect(await del('42')).toEqual({ status: 404, error: 'no API key with id 42' });
    expect(t.store.keys.list()).toEqual([]);
  });

  it('never write a key to the log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = testConfig({ ECHONET_DB_PATH: tempDbPath(), ECHONET_ADMIN_KEY: ADMIN_KEY });
    const store = openStore(config.dbPath);
    const app = await buildApp(config, { store, logger: { level: 'trace', stream } });
    afterFile(async () => {
      await app.close();
      store.close();
    });
    const res = await app.inject({
      method: 'POST',
      url: '/keys',
      headers: admin,
      payload: { label: 'door' },
    });
    const { id, key } = res.json<{ id: number; key: string }>();
    await app.inject({ method: 'GET', url: '/targets', headers: { 'x-api-key': key } });
    await app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: admin });
    await app.inject({ method: 'GET', url: '/targets', headers: { 'x-api-key': key } });
    const log = lines.join('');
    expect(log).toContain('API key added');
    expect(log).toContain('API key revoked');
    expect(log).not.toContain(key);
    expect(log).not.toContain(createHash('sha256').update(key).digest('hex'));
  });
});
