/**
 * Who may talk to Echonet and how much: the allowlist (addresses, CIDR ranges, host names), trusted
 * proxies, rate limits, several API keys, target host rules, redirects, security headers, body
 * limits. Every test runs the real app on a real SQLite file; client addresses are set per request.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseAddressList } from '../../src/address-list.js';
import { createAllowlist } from '../../src/access/allowlist.js';
import { SECURITY_HEADERS } from '../../src/http/access.js';
import { openStore } from '../../src/store/store.js';
import { API_KEY, ADMIN_KEY, register, startTestApp, testConfig } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir();

function expectRefusal(res: LightMyRequestResponse, status: number): { ok: false; error: string } {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json<{ ok: false; error: string }>();
  expect(body.ok).toBe(false);
  expect(typeof body.error).toBe('string');
  return body;
}

function expectSecurityHeaders(res: LightMyRequestResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers[name], `${name} on a ${res.statusCode}`).toBe(value);
  }
}

const health = (remoteAddress: string, headers: Record<string, string> = {}) => ({
  method: 'GET' as const,
  url: '/health',
  remoteAddress,
  headers,
});

/** Lines the app logged, as text, for tests that look into the log. */
async function appWithLog(env: Record<string, string>, level = 'trace') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const config = testConfig({ ECHONET_DB_PATH: tempDbPath(dir), ...env });
  const store = openStore(config.dbPath);
  const app = await buildApp(config, { store, logger: { level, stream } });
  await app.ready();
  return {
    app,
    log: () => lines.join(''),
    async close() {
      await app.close();
      store.close();
    },
  };
}

describe('ECHONET_ALLOWLIST', () => {
  it('lets every client in when unset', async () => {
    const t = await startTestApp();
    for (const ip of ['203.0.113.9', '10.1.2.3', '2001:db8::1']) {
      expect((await t.app.inject(health(ip))).statusCode).toBe(200);
    }
  });

  it('admits IPv4 addresses and ranges and refuses the rest with 403 before anything else', async () => {
    const t = await startTestApp({ ECHONET_ALLOWLIST: '192.168.1.0/24, 10.0.0.7' });
    for (const ip of ['192.168.1.1', '192.168.1.254', '10.0.0.7']) {
      expect((await t.request({ ...health(ip) })).statusCode, ip).toBe(200);
    }
    for (const ip of ['192.168.2.1', '10.0.0.8', '127.0.0.1']) {
      const res = await t.request({ ...health(ip) });
      expect(expectRefusal(res, 403).error).toContain(ip);
      expectSecurityHeaders(res);
    }
    // Before the key check (no key → still 403, not 401), routing (404) and the body (413, 400).
    const outsider = '198.51.100.1';
    expectRefusal(
      await t.app.inject({ method: 'GET', url: '/targets', remoteAddress: outsider }),
      403,
    );
    expectRefusal(await t.request({ method: 'GET', url: '/nope', remoteAddress: outsider }), 403);
    expectRefusal(
      await t.request({
        method: 'POST',
        url: '/text',
        remoteAddress: outsider,
        payload: { source_id: 's', text: 'x'.repeat(100_000) },
      }),
      403,
    );
    expectRefusal(
      await t.request({
        method: 'POST',
        url: '/register',
        remoteAddress: outsider,
        payload: { name: 'sneaky', base_url: 'http://127.0.0.1:9', phrases: ['hey sneaky'] },
      }),
      403,
    );
    expect(t.store.targets.count()).toBe(0);
  });

  it('admits IPv6 addresses and ranges, and IPv4-mapped IPv6 clients by their IPv4 rule', async () => {
    const t = await startTestApp({ ECHONET_ALLOWLIST: 'fd00::/8,::1,10.0.0.0/8,[2001:db8::5]' });
    for (const ip of ['fd12:3456::1', '::1', '2001:db8::5', '::ffff:10.9.8.7', '10.9.8.7']) {
      expect((await t.request(health(ip))).statusCode, ip).toBe(200);
    }
    for (const ip of ['fe80::1', '2001:db8::6', '::ffff:192.168.0.1', '::2']) {
      expectRefusal(await t.request(health(ip)), 403);
    }
  });

  it('matches an IPv4-mapped rule against a plain IPv4 client', async () => {
    const t = await startTestApp({ ECHONET_ALLOWLIST: '::ffff:127.0.0.1' });
    expect((await t.request(health('127.0.0.1'))).statusCode).toBe(200);
    expectRefusal(await t.request(health('127.0.0.2')), 403);
  });

  it('resolves host names at start-up', async () => {
    const t = await startTestApp({ ECHONET_ALLOWLIST: 'localhost' });
    expect((await t.request(health('127.0.0.1'))).statusCode).toBe(200);
    expectRefusal(await t.request(health('192.0.2.1')), 403);
  });

  it('starts with a warning when a host name does not resolve', async () => {
    const a = await appWithLog({ ECHONET_ALLOWLIST: 'no-such-host.invalid,127.0.0.1' }, 'warn');
    try {
      expect(a.log()).toContain('no-such-host.invalid');
      expect(a.log()).toContain('did not resolve');
      expect((await a.app.inject({ ...health('127.0.0.1') })).statusCode).toBe(200);
      expect((await a.app.inject({ ...health('192.0.2.1') })).statusCode).toBe(403);
    } finally {
      await a.close();
    }
  });

  it('follows a host name to its new address on refresh, and keeps the old one through a failure', async () => {
    // The DNS answer is the one thing a test cannot change for real, so the resolver is passed in.
    let answer: string[] | Error = ['192.168.1.20'];
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as never;
    const allowlist = await createAllowlist(parseAddressList('doorbell.lan,10.0.0.1') ?? [], {
      log,
      resolve: async () => {
        if (answer instanceof Error) throw answer;
        return answer;
      },
      refreshMs: 20,
    });
    try {
      expect(allowlist.allows('192.168.1.20')).toBe(true);
      expect(allowlist.allows('10.0.0.1')).toBe(true);

      answer = ['192.168.1.21', 'fd00::21'];
      // The timer refreshes on its own: wait for the new address to be let in.
      await waitFor(() => allowlist.allows('192.168.1.21'), { what: 'the refreshed address' });
      expect(allowlist.allows('192.168.1.20')).toBe(false);
      expect(allowlist.allows('192.168.1.21')).toBe(true);
      expect(allowlist.allows('fd00::21')).toBe(true);

      answer = Object.assign(new Error('queryA ESERVFAIL doorbell.lan'), { code: 'ESERVFAIL' });
      await allowlist.refresh();
      expect(allowlist.allows('192.168.1.21')).toBe(true);
      expect(warnings.at(-1)).toContain('keeping its last known addresses');
    } finally {
      allowlist.close();
    }
  });
});

describe('ECHONET_TRUST_PROXY and X-Forwarded-For', () => {
  const xff = (remoteAddress: string, forwardedFor: string) =>
    health(remoteAddress, { 'x-forwarded-for': forwardedFor });

  it('ignores X-Forwarded-For unless the proxy is named', async () => {
    const t = await startTestApp({ ECHONET_ALLOWLIST: '10.0.0.5' });
    expectRefusal(await t.request(xff('127.0.0.1', '10.0.0.5')), 403);
  });

  it('believes the named proxy, and only it', async () => {
    const t = await startTestApp({
      ECHONET_ALLOWLIST: '10.0.0.5',
      ECHONET_TRUST_PROXY: '127.0.0.1',
    });
    expect((await t.request(xff('127.0.0.1', '10.0.0.5'))).statusCode).toBe(200);
    expectRefusal(await t.request(xff('127.0.0.1', '10.0.0.6')), 403);
    // Someone else claiming to be forwarding for an allowed client.
    expectRefusal(await t.request(xff('192.0.2.1', '10.0.0.5')), 403);
    // A client that prepends an allowed address: the proxy appended the real one, which counts.
    expectRefusal(await t.request(xff('127.0.0.1', '10.0.0.5, 198.51.100.7')), 403);
  });

  it('accepts proxy ranges', async () => {
    const t = await startTestApp({
      ECHONET_ALLOWLIST: '10.0.0.5',
      ECHONET_TRUST_PROXY: '172.16.0.0/12,loopback',
    });
    expect((await t.request(xff('172.17.0.1', '10.0.0.5'))).statusCode).toBe(200);
    expect((await t.request(xff('::1', '10.0.0.5'))).statusCode).toBe(200);
  });
});

describe('rate limits', () => {
  const list = (remoteAddress: string, headers?: Record<string, string>) => ({
    method: 'GET' as const,
    url: '/targets',
    remoteAddress,
    ...(headers && { headers }),
  });

  it('answers 429 with Retry-After once a client address is over ECHONET_RATE_LIMIT_PER_MIN', async () => {
    const t = await startTestApp({ ECHONET_RATE_LIMIT_PER_MIN: '3' });
    for (let i = 0; i < 3; i++) expect((await t.request(list('10.0.0.1'))).statusCode).toBe(200);
    const res = await t.request(list('10.0.0.1'));
    expect(expectRefusal(res, 429).error).toMatch(/rate limit of 3 requests per minute/);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expectSecurityHeaders(res);
    // Another IPv4 address has its own count; IPv6 clients count per /64 (rate-limit-ipv6.test.ts).
    expect((await t.request(list('10.0.0.2'))).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expect((await t.request(list('fd00::1'))).statusCode).toBe(200);
    expectRefusal(await t.request(list('fd00::1')), 429);
    expect((await t.request(list('fd00:0:0:1::1'))).statusCode).toBe(200);
  });

  it('counts requests without a valid key too, so keys cannot be guessed quickly', async () => {
    const t = await startTestApp({ ECHONET_RATE_LIMIT_PER_MIN: '2' });
    const guess = { 'x-api-key': 'guess' };
    expectRefusal(await t.request(list('10.0.0.3', guess)), 401);
    expectRefusal(await t.request(list('10.0.0.3', guess)), 401);
    expectRefusal(await t.request(list('10.0.0.3', guess)), 429);
    expectRefusal(await t.request(list('10.0.0.3')), 429);
  });

  it('gives register and delete their own ECHONET_ADMIN_RATE_LIMIT_PER_MIN', async () => {
    const t = await startTestApp({
      ECHONET_RATE_LIMIT_PER_MIN: '100',
      ECHONET_ADMIN_RATE_LIMIT_PER_MIN: '2',
    });
    const ip = '10.0.0.4';
    const reg = (name: string) =>
      t.request({
        method: 'POST',
        url: '/register',
        remoteAddress: ip,
        payload: { name, base_url: 'http://127.0.0.1:9', phrases: [`hey ${name}`] },
      });
    expect((await reg('one')).statusCode).toBe(200);
    expect(
      (await t.request({ method: 'DELETE', url: '/targets/one', remoteAddress: ip })).statusCode,
    ).toBe(200);
    const res = await reg('two');
    expectRefusal(res, 429);
    expect(res.headers['retry-after']).toBeDefined();
    expectRefusal(
      await t.request({ method: 'DELETE', url: '/targets/one', remoteAddress: ip }),
      429,
    );
    expect(t.store.targets.count()).toBe(0);
    // Everything else still has the general limit.
    for (let i = 0; i < 10; i++) expect((await t.request(list(ip))).statusCode).toBe(200);
  });

  it('limits admin routes alone when only the admin limit is set', async () => {
    const t = await startTestApp({ ECHONET_ADMIN_RATE_LIMIT_PER_MIN: '1' });
    const del = () =>
      t.request({ method: 'DELETE', url: '/targets/ghost', remoteAddress: '10.0.0.9' });
    expectRefusal(await del(), 404);
    expectRefusal(await del(), 429);
    for (let i = 0; i < 20; i++) expect((await t.request(list('10.0.0.9'))).statusCode).toBe(200);
  });

  it('counts the forwarded client address behind a trusted proxy', async () => {
    const t = await startTestApp({
      ECHONET_RATE_LIMIT_PER_MIN: '1',
      ECHONET_TRUST_PROXY: '127.0.0.1',
    });
    const via = (client: string) => list('127.0.0.1', { 'x-forwarded-for': client });
    expect((await t.request(via('10.0.1.1'))).statusCode).toBe(200);
    expect((await t.request(via('10.0.1.2'))).statusCode).toBe(200);
    expectRefusal(await t.request(via('10.0.1.1')), 429);
  });
});

describe('API keys', () => {
  const withKey = (app: FastifyInstance, key: string) =>
    app.inject({ method: 'GET', url: '/targets', headers: { 'x-api-key': key } });

  it('accepts ECHONET_API_KEY and every key in ECHONET_API_KEYS, and nothing else', async () => {
    const t = await startTestApp({ ECHONET_API_KEYS: 'second-key-aaaa, third-key-bbbb' });
    for (const key of [API_KEY, 'second-key-aaaa', 'third-key-bbbb']) {
      expect((await withKey(t.app, key)).statusCode, key).toBe(200);
    }
    for (const key of ['second-key-aaa', 'third-key-bbbb ', 'x', `${API_KEY},second-key-aaaa`]) {
      expectRefusal(await withKey(t.app, key), 401);
    }
  });

  it('rotates a key without downtime: old and new together, then only the new one', async () => {
    const db = tempDbPath(dir);
    const before = await startTestApp({ ECHONET_API_KEY: 'old-key-0000' }, { dbPath: db });
    expect((await withKey(before.app, 'old-key-0000')).statusCode).toBe(200);
    await before.close();

    const during = await startTestApp(
      { ECHONET_API_KEY: 'old-key-0000', ECHONET_API_KEYS: 'new-key-1111' },
      { dbPath: db },
    );
    expect((await withKey(during.app, 'old-key-0000')).statusCode).toBe(200);
    expect((await withKey(during.app, 'new-key-1111')).statusCode).toBe(200);
    await during.close();

    const after = await startTestApp(
      { ECHONET_API_KEY: '', ECHONET_API_KEYS: 'new-key-1111' },
      { dbPath: db },
    );
    expectRefusal(await withKey(after.app, 'old-key-0000'), 401);
    expect((await withKey(after.app, 'new-key-1111')).statusCode).toBe(200);
  });

  it('uses the generated key only when neither variable is set', async () => {
    const db = tempDbPath(dir);
    const generated = await startTestApp({ ECHONET_API_KEY: '' }, { dbPath: db });
    const key = generated.store.secrets.getOrCreate('api_key').value;
    expect((await withKey(generated.app, key)).statusCode).toBe(200);
    await generated.close();

    const configured = await startTestApp(
      { ECHONET_API_KEY: '', ECHONET_API_KEYS: 'only-this-key' },
      { dbPath: db },
    );
    expectRefusal(await withKey(configured.app, key), 401);
    expect((await withKey(configured.app, 'only-this-key')).statusCode).toBe(200);
  });

  it('never puts a key in an error body or a log line', async () => {
    const keys = ['first-secret-key-4242', 'second-secret-key-4343'];
    const admin = 'admin-secret-key-4444';
    const a = await appWithLog({
      ECHONET_API_KEY: keys[0] ?? '',
      ECHONET_API_KEYS: keys[1] ?? '',
      ECHONET_ADMIN_KEY: admin,
    });
    try {
      const bodies: string[] = [];
      const send = async (headers: Record<string, string>, method = 'GET', url = '/targets') => {
        const res = await a.app.inject({ method: method as 'GET', url, headers });
        bodies.push(res.body);
        return res;
      };
      await send({ 'x-api-key': keys[0] ?? '' });
      await send({ 'x-api-key': 'wrong-' + (keys[1] ?? '') });
      await send(
        { 'x-api-key': keys[1] ?? '', 'x-admin-key': 'wrong-' + admin },
        'DELETE',
        '/targets/x',
      );
      await send({ 'x-api-key': keys[1] ?? '', 'x-admin-key': admin }, 'DELETE', '/targets/x');
      await send({ 'x-api-key': keys[0] ?? '', authorization: `Bearer ${admin}` }, 'GET', '/nope');
      // Whatever logs a request's headers gets them redacted.
      a.app.log.error(
        { req: { headers: { 'x-api-key': keys[0], 'x-admin-key': admin } } },
        'probe',
      );
      a.app.log.error({ headers: { 'x-api-key': keys[1], authorization: admin } }, 'probe');

      expect(a.log()).toContain('probe');
      expect(a.log()).toContain('[Redacted]');
      for (const secret of [...keys, admin]) {
        expect(a.log()).not.toContain(secret);
        for (const body of bodies) expect(body).not.toContain(secret);
      }
    } finally {
      await a.close();
    }
  });
});

describe('target URLs', () => {
  it('registers only hosts in ECHONET_TARGET_HOSTS, naming the field and the allowed hosts', async () => {
    const t = await startTestApp({
      ECHONET_TARGET_HOSTS: '127.0.0.1, assistant.lan, 10.0.0.0/8, fd00::/8',
    });
    const reg = (name: string, baseUrl: string) =>
      t.request({
        method: 'POST',
        url: '/register',
        payload: { name, base_url: baseUrl, phrases: [`hey ${name}`] },
      });
    for (const [name, url] of [
      ['a', 'http://127.0.0.1:9'],
      ['b', 'http://assistant.lan:8080/hook'],
      ['c', 'https://ASSISTANT.LAN./'],
      ['d', 'http://10.20.30.40'],
      ['e', 'http://[fd00::1]:8080'],
      ['f', 'http://0x7f.0.0.1:9'], // the URL parser's reading: 127.0.0.1
    ] as const) {
      expect((await reg(name, url)).statusCode, url).toBe(200);
    }
    const before = t.store.targets.all();
    for (const url of [
      'http://evil.example',
      'http://assistant.lan.evil.example',
      'http://11.0.0.1',
      'http://[::1]:9',
      'http://localhost:9',
      'http://127.0.0.2',
    ]) {
      const body = expectRefusal(await reg('z', url), 400);
      expect(body.error).toContain('body.base_url');
      expect(body.error).toContain('127.0.0.1, assistant.lan, 10.0.0.0/8, fd00::/8');
    }
    expect(t.store.targets.all()).toEqual(before);
  });

  it('applies ECHONET_TARGET_HOSTS to `echonet restore` too', async () => {
    const db = tempDbPath(dir);
    const file = join(dir, 'relay.json');
    writeFileSync(
      file,
      JSON.stringify({
        targets: [
          { name: 'home', base_url: 'http://10.0.0.2:8080', phrases: ['hey home'] },
          { name: 'relay', base_url: 'https://attacker.example', phrases: ['hey relay'] },
        ],
      }),
    );
    const env = { ECHONET_DB_PATH: db, ECHONET_TARGET_HOSTS: '10.0.0.0/8' };
    const refused = await runCli(['restore', file, '--yes'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('targets[1].base_url');
    expect(refused.stderr).toContain('attacker.example');

    const allowed = await runCli(['restore', file, '--yes'], {
      env: { ...env, ECHONET_TARGET_HOSTS: '10.0.0.0/8,attacker.example' },
    });
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('does not follow a redirect when forwarding', async () => {
    const decoy = await startRecordingTarget();
    const redirecting = await startRecordingTarget();
    redirecting.behave({ kind: 'redirect', status: 302, location: `${decoy.url}/listen` });
    try {
      const t = await startTestApp();
      await register(t, 'hopper', redirecting.url, ['hey hopper']);
      const res = await t.request({
        method: 'POST',
        url: '/text',
        payload: { source_id: 'door', text: 'hey hopper open up' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        routed_to: 'hopper',
        forwarded: false,
        reason: 'forward_failed:status_302',
      });
      expect(redirecting.received).toHaveLength(1);
      // Closing the app closes its forwarder once every request it made has been answered, and a
      // target records a request before answering it: a followed redirect would be recorded now.
      await t.close();
      expect(decoy.received).toHaveLength(0);
    } finally {
      await redirecting.close();
      await decoy.close();
    }
  });
});

describe('limits and headers', () => {
  it('sends the security headers on every kind of response', async () => {
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const responses = [
      await t.request({ method: 'GET', url: '/health' }),
      await t.app.inject({ method: 'GET', url: '/targets' }),
      await t.request({ method: 'DELETE', url: '/targets/x', headers: { 'x-admin-key': 'no' } }),
      await t.request({ method: 'GET', url: '/missing' }),
      await t.request({ method: 'POST', url: '/text', payload: { text: 1 } }),
      await t.request({ method: 'POST', url: '/text', payload: 'plain text' }),
      await t.request({
        method: 'POST',
        url: '/text',
        payload: { source_id: 's', text: 'x'.repeat(70_000) },
      }),
    ];
    expect(responses.map((r) => r.statusCode)).toEqual([200, 401, 403, 404, 400, 415, 413]);
    for (const res of responses) expectSecurityHeaders(res);
  });

  it('answers malformed URLs in the same shape, with the same headers', async () => {
    const t = await startTestApp();
    const bad = await t.request({ method: 'DELETE', url: '/targets/%E0%A4%A' });
    expect(expectRefusal(bad, 400).error).toBe('the URL is not validly percent-encoded');
    expectSecurityHeaders(bad);
    const long = await t.request({ method: 'DELETE', url: `/targets/${'a'.repeat(200)}` });
    expect(expectRefusal(long, 414).error).toBe('a path segment is longer than 100 characters');
    expectSecurityHeaders(long);
  });

  it('answers 413 to bodies over 64 KiB, leaving the registry alone', async () => {
    const t = await startTestApp();
    const huge = 'y'.repeat(64 * 1024);
    for (const [url, payload] of [
      ['/text', { source_id: 's', text: huge }],
      ['/route/preview', { text: huge }],
      ['/register', { name: 'big', base_url: 'http://127.0.0.1:9', phrases: ['hey big', huge] }],
    ] as const) {
      const body = expectRefusal(await t.request({ method: 'POST', url, payload }), 413);
      expect(body.error).toBe('request body is too large');
    }
    expect(t.store.targets.count()).toBe(0);
    // Just under the limit is parsed (and then refused for its content, not its size).
    const justUnder = { source_id: 's', text: 'z'.repeat(64 * 1024 - 100) };
    expectRefusal(await t.request({ method: 'POST', url: '/text', payload: justUnder }), 400);
  });

  it('answers 400 naming the limit for too many phrases or characters', async () => {
    const t = await startTestApp();
    const reg = (phrases: string[]) =>
      t.request({
        method: 'POST',
        url: '/register',
        payload: { name: 'many', base_url: 'http://127.0.0.1:9', phrases },
      });
    const many = Array.from({ length: 33 }, (_, i) => `hey number ${i}`);
    expect(expectRefusal(await reg(many), 400).error).toBe(
      'body.phrases may hold at most 32 items',
    );
    expect(expectRefusal(await reg(['hey ' + 'o'.repeat(100)]), 400).error).toBe(
      'body.phrases[0] must be at most 100 characters',
    );
    const text = await t.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 's', text: 'w'.repeat(501) },
    });
    expect(expectRefusal(text, 400).error).toBe('body.text must be at most 500 characters');
    expect(t.store.targets.count()).toBe(0);
  });
});
