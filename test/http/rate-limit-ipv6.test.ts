/**
 * IPv6 clients are rate-limited per network (a /64 unless ECHONET_RATE_LIMIT_IPV6_PREFIX says
 * otherwise): whoever holds one address of a /64 can use any other. IPv4 stays per address, and an
 * IPv4-mapped IPv6 client counts as its IPv4 address. Over a real socket, the client address
 * coming from a trusted proxy on loopback, as it would behind a reverse proxy.
 */
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { describe, expect, it } from 'vitest';
import { afterFile } from '../helpers/cleanup.js';
import { loadConfig } from '../../src/config.js';
import { API_KEY, startTestApp } from '../helpers/app.js';

async function limited(env: Record<string, string>) {
  const t = await startTestApp({
    ECHONET_RATE_LIMIT_PER_MIN: '2',
    ECHONET_TRUST_PROXY: '127.0.0.1',
    ...env,
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const client = new Client(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`);
  afterFile(() => client.close());
  /** The status of GET /targets for the client at `address`. */
  return async (address: string) => {
    const res = await client.request({
      method: 'GET',
      path: '/targets',
      headers: { 'x-api-key': API_KEY, 'x-forwarded-for': address },
    });
    await res.body.dump();
    return res.statusCode;
  };
}

/** Spends the budget of 2 from `address`, then reports what `other` gets. */
async function afterSpending(
  status: (a: string) => Promise<number>,
  address: string,
  other: string,
) {
  expect(await status(address)).toBe(200);
  expect(await status(address)).toBe(200);
  expect(await status(address)).toBe(429);
  return status(other);
}

describe('ECHONET_RATE_LIMIT_IPV6_PREFIX', () => {
  it('counts two addresses in one /64 together by default, and different /64s apart', async () => {
    const status = await limited({});
    expect(await afterSpending(status, '2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:fffe')).toBe(
      429,
    );
    expect(await status('2001:db8:1:3::1')).toBe(200);
    expect(await status('2001:db8:1:2::abcd')).toBe(429);
  });

  it('keeps IPv4 per address, and counts an IPv4-mapped client as its IPv4 address', async () => {
    const status = await limited({});
    expect(await afterSpending(status, '192.0.2.10', '192.0.2.11')).toBe(200);
    expect(await status('::ffff:192.0.2.10')).toBe(429);
    expect(await afterSpending(status, '::ffff:192.0.2.20', '192.0.2.20')).toBe(429);
  });

  it('follows the setting: 128 counts every address apart, 48 a whole site together', async () => {
    const each = await limited({ ECHONET_RATE_LIMIT_IPV6_PREFIX: '128' });
    expect(await afterSpending(each, '2001:db8:5::1', '2001:db8:5::2')).toBe(200);

    const site = await limited({ ECHONET_RATE_LIMIT_IPV6_PREFIX: '48' });
    expect(await afterSpending(site, '2001:db8:6:1::1', '2001:db8:6:ffff::1')).toBe(429);
    expect(await site('2001:db8:7::1')).toBe(200);
  });

  it('is 64 unless set, and refuses a value outside 1 to 128 naming the variable and the range', () => {
    const load = (value?: string) =>
      loadConfig(value === undefined ? {} : { ECHONET_RATE_LIMIT_IPV6_PREFIX: value }, {
        envFile: false,
      });
    expect(load().rateLimitIpv6Prefix).toBe(64);
    expect(load('1').rateLimitIpv6Prefix).toBe(1);
    expect(load('128').rateLimitIpv6Prefix).toBe(128);
    for (const bad of ['0', '129', '-64', '64.5', '/64', 'sixty-four']) {
      expect(() => load(bad)).toThrow(
        `ECHONET_RATE_LIMIT_IPV6_PREFIX=${JSON.stringify(bad)} is invalid: expected an integer from 1 to 128`,
      );
    }
  });
});
