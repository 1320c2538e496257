/**
 * URLs Fastify cannot route (bad percent-encoding, a path segment over 100 characters) meet the
 * allowlist and the rate limits like any request. Over a real socket: these requests skip every
 * hook, so only the server's own path (frameworkErrors) is tested, and inject() is not used.
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../../src/http/access.js';
import { API_KEY, startTestApp } from '../helpers/app.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

const BAD_ENCODING = '/targets/%E0%A4%A';
const LONG_SEGMENT = `/targets/${'a'.repeat(200)}`;

async function listening(env: Record<string, string>) {
  const t = await startTestApp(env);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  /** As the client `from`, through the trusted proxy on loopback when `from` is given. */
  const send = (path: string, from?: string, method = 'DELETE') =>
    rawRequest(port, method, path, {
      'x-api-key': API_KEY,
      ...(from !== undefined && { 'x-forwarded-for': from }),
    });
  return { t, send };
}

function refusal(res: RawResponse, status: number): string {
  expect(res.status, res.body).toBe(status);
  const body = JSON.parse(res.body) as { ok: boolean; error: string };
  expect(body.ok).toBe(false);
  for (const [name, value] of Object.entries(SECURITY_HEADERS))
    expect(res.headers[name]).toBe(value);
  return body.error;
}

describe('malformed URLs and the allowlist', () => {
  it('refuses a client outside the allowlist with 403, whatever is wrong with the URL', async () => {
    const { send } = await listening({
      ECHONET_ALLOWLIST: '10.0.0.5',
      ECHONET_TRUST_PROXY: '127.0.0.1',
    });
    for (const path of [BAD_ENCODING, LONG_SEGMENT]) {
      expect(refusal(await send(path, '198.51.100.1'), 403)).toBe(
        'client address 198.51.100.1 is not allowed',
      );
    }
    // The allowed client (the same proxy, the same socket path) gets the URL's own error.
    expect(refusal(await send(BAD_ENCODING, '10.0.0.5'), 400)).toBe(
      'the URL is not validly percent-encoded',
    );
    expect(refusal(await send(LONG_SEGMENT, '10.0.0.5'), 414)).toBe(
      'a path segment is longer than 100 characters',
    );
  });

  it('judges the socket address when no proxy is trusted', async () => {
    const outside = await listening({ ECHONET_ALLOWLIST: '10.0.0.0/8' });
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    expect(refusal(await outside.send(BAD_ENCODING, '10.0.0.5'), 403)).toContain('127.0.0.1');
    expect(refusal(await outside.send(LONG_SEGMENT), 403)).toContain('127.0.0.1');

    const inside = await listening({ ECHONET_ALLOWLIST: '127.0.0.1' });
    refusal(await inside.send(BAD_ENCODING), 400);
    refusal(await inside.send(LONG_SEGMENT), 414);
  });
});

describe('malformed URLs and the rate limits', () => {
  it('count against the same budget as routed requests, and are refused with 429 once it is spent', async () => {
    const { send } = await listening({
      ECHONET_RATE_LIMIT_PER_MIN: '2',
      ECHONET_TRUST_PROXY: '127.0.0.1',
    });
    // Two malformed requests spend the budget of 10.0.2.1: its next routed request is refused.
    refusal(await send(BAD_ENCODING, '10.0.2.1'), 400);
    refusal(await send(LONG_SEGMENT, '10.0.2.1'), 414);
    const over = await send('/targets', '10.0.2.1', 'GET');
    expect(refusal(over, 429)).toMatch(/rate limit of 2 requests per minute/);

    // Two routed requests spend the budget of 10.0.2.2: its malformed one is refused too.
    expect((await send('/targets', '10.0.2.2', 'GET')).status).toBe(200);
    expect((await send('/targets', '10.0.2.2', 'GET')).status).toBe(200);
    const limited = await send(BAD_ENCODING, '10.0.2.2');
    expect(refusal(limited, 429)).toMatch(/rate limit of 2 requests per minute/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    // Another client still has its own budget.
    refusal(await send(BAD_ENCODING, '10.0.2.3'), 400);
  });

  it('checks the allowlist before the rate limit, as for routed requests', async () => {
    const { send } = await listening({
      ECHONET_ALLOWLIST: '10.0.0.5',
      ECHONET_RATE_LIMIT_PER_MIN: '1',
      ECHONET_TRUST_PROXY: '127.0.0.1',
    });
    for (let i = 0; i < 3; i++) refusal(await send(LONG_SEGMENT, '198.51.100.2'), 403);
    refusal(await send(LONG_SEGMENT, '10.0.0.5'), 414);
    refusal(await send(LONG_SEGMENT, '10.0.0.5'), 429);
  });
});
