/** The access settings: allowlist, trusted proxies, rate limits, extra API keys, target hosts. */
import { describe, expect, it } from 'vitest';
import { envExample, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const load = (env: Record<string, string>) => loadConfig(env, { envFile: false });

function refused(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('access settings', () => {
  it('leave everything open when unset', () => {
    const c = load({});
    expect(c.allowlist).toBeUndefined();
    expect(c.trustProxy).toBeUndefined();
    expect(c.rateLimitPerMin).toBeUndefined();
    expect(c.adminRateLimitPerMin).toBeUndefined();
    expect(c.apiKeys).toBeUndefined();
    expect(c.targetHosts).toBeUndefined();
  });

  it.each(['ECHONET_ALLOWLIST', 'ECHONET_TARGET_HOSTS'])(
    '%s takes addresses, IPv4 and IPv6 ranges and host names',
    (name) => {
      const c = load({
        [name]:
          ' 192.168.1.0/24, 10.0.0.7 ,fd00::/8,[::1],::ffff:127.0.0.1, Doorbell.LAN., host-2 ',
      });
      expect(name === 'ECHONET_ALLOWLIST' ? c.allowlist : c.targetHosts).toEqual([
        { kind: 'subnet', network: '192.168.1.0', prefix: 24, family: 'ipv4' },
        { kind: 'address', address: '10.0.0.7', family: 'ipv4' },
        { kind: 'subnet', network: 'fd00::', prefix: 8, family: 'ipv6' },
        { kind: 'address', address: '::1', family: 'ipv6' },
        { kind: 'address', address: '::ffff:127.0.0.1', family: 'ipv6' },
        { kind: 'host', host: 'doorbell.lan' },
        { kind: 'host', host: 'host-2' },
      ]);
    },
  );

  it.each([
    '10.0.0.0/33',
    'fd00::/129',
    '10.0.0.0/-1',
    '10.0.0.0/',
    '10.0.0/8',
    'not-an-ip/8',
    '10.0.0.256',
    '1.2.3.4.5',
    'under_score.lan',
    'bad host',
    '-leading.lan',
    'fe80::1%eth0',
    'http://10.0.0.1',
    '10.0.0.1:8080',
  ])('ECHONET_ALLOWLIST and ECHONET_TARGET_HOSTS refuse %j', (value) => {
    for (const name of ['ECHONET_ALLOWLIST', 'ECHONET_TARGET_HOSTS']) {
      const message = refused({ [name]: `127.0.0.1,${value}` });
      expect(message).toContain(name);
      expect(message).toContain('CIDR');
    }
  });

  it('an allowlist with no entries is a mistake, not "allow nobody" or "allow all"', () => {
    expect(refused({ ECHONET_ALLOWLIST: ' , ' })).toContain('ECHONET_ALLOWLIST');
    expect(load({ ECHONET_ALLOWLIST: '' }).allowlist).toBeUndefined();
  });

  it('ECHONET_TRUST_PROXY takes addresses, ranges and proxy-addr keywords, never names', () => {
    expect(
      load({ ECHONET_TRUST_PROXY: '127.0.0.1, 172.16.0.0/12 ,[::1],Loopback' }).trustProxy,
    ).toEqual(['127.0.0.1', '172.16.0.0/12', '::1', 'loopback']);
    for (const bad of ['proxy.lan', '10.0.0.0/40', 'true', ' , ']) {
      expect(refused({ ECHONET_TRUST_PROXY: bad })).toContain('ECHONET_TRUST_PROXY');
    }
  });

  it('rate limits are whole numbers of requests per minute', () => {
    const c = load({ ECHONET_RATE_LIMIT_PER_MIN: '120', ECHONET_ADMIN_RATE_LIMIT_PER_MIN: '10' });
    expect(c.rateLimitPerMin).toBe(120);
    expect(c.adminRateLimitPerMin).toBe(10);
    for (const bad of ['0', '-5', '1.5', 'ten', '1e3', '1000001']) {
      expect(refused({ ECHONET_RATE_LIMIT_PER_MIN: bad })).toContain('ECHONET_RATE_LIMIT_PER_MIN');
      expect(refused({ ECHONET_ADMIN_RATE_LIMIT_PER_MIN: bad })).toContain(
        'ECHONET_ADMIN_RATE_LIMIT_PER_MIN',
      );
    }
  });

  it('ECHONET_API_KEYS is a list of keys alongside ECHONET_API_KEY', () => {
    const c = load({ ECHONET_API_KEY: 'one', ECHONET_API_KEYS: ' two , three,' });
    expect(c.apiKey).toBe('one');
    expect(c.apiKeys).toEqual(['two', 'three']);
    expect(refused({ ECHONET_API_KEYS: ' , ' })).toContain('ECHONET_API_KEYS');
  });

  it('are documented in .env.example', () => {
    const text = envExample();
    for (const name of [
      'ECHONET_API_KEYS',
      'ECHONET_ALLOWLIST',
      'ECHONET_TRUST_PROXY',
      'ECHONET_RATE_LIMIT_PER_MIN',
      'ECHONET_ADMIN_RATE_LIMIT_PER_MIN',
      'ECHONET_TARGET_HOSTS',
    ]) {
      expect(text).toContain(`# ${name}=`);
    }
  });
});
