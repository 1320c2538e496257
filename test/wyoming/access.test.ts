/**
 * Wyoming has no keys, so who may connect and how often is all there is: ECHONET_ALLOWLIST closes
 * a refused client's connection before it is read, and ECHONET_RATE_LIMIT_PER_MIN counts each
 * connection (and each transcript after the first on one connection) per client per minute, on
 * the app's clock.
 */
import { describe, expect, it } from 'vitest';
import { clientKey, ClientRateLimit } from '../../src/access/client-rate.js';
import { ManualClock, register } from '../helpers/app.js';
import { ask, frame, transcript, WyomingClient } from '../helpers/wyoming-client.js';
import { startWyomingApp } from './helpers.js';
import { recordingTarget } from '../helpers/recording-target.js';

describe('ECHONET_ALLOWLIST on Wyoming connections', () => {
  it('closes a connection from an address not on the list without reading it', async () => {
    const t = await startWyomingApp({ ECHONET_ALLOWLIST: '10.9.9.9' });
    const client = await WyomingClient.connect(t.port);
    client.send(transcript('hey astraea open the door'));
    await client.waitClosed();
    expect(client.events).toEqual([]);
  });

  it('serves an address on the list', async () => {
    const t = await startWyomingApp({ ECHONET_ALLOWLIST: '10.9.9.9,127.0.0.0/8' });
    expect((await ask(t.port, frame('describe'))).type).toBe('info');
  });
});

describe('ECHONET_RATE_LIMIT_PER_MIN on Wyoming connections', () => {
  it('refuses the connection over the limit with an error event, until the minute is over', async () => {
    const t = await startWyomingApp({ ECHONET_RATE_LIMIT_PER_MIN: '2' });
    expect((await ask(t.port, frame('describe'))).type).toBe('info');
    expect((await ask(t.port, frame('describe'))).type).toBe('info');
    const refused = await WyomingClient.connect(t.port);
    await refused.waitClosed();
    expect(refused.events).toEqual([
      {
        type: 'error',
        data: {
          text: 'rate limit of 2 per minute exceeded; retry in 60 seconds',
          code: 'rate_limited',
        },
        payload: null,
      },
    ]);
    t.clock.advance(60);
    expect((await ask(t.port, frame('describe'))).type).toBe('info');
  });

  it('counts transcripts after the first on one connection', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp({ ECHONET_RATE_LIMIT_PER_MIN: '3' });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const client = await WyomingClient.connect(t.port);
    for (let i = 0; i < 4; i++) client.send(transcript(`hey astraea ${i}`));
    await client.nth(4);
    // The connection counted once and covers its first transcript; two more fit in the minute.
    expect(client.events.map((e) => e.data.code ?? e.type)).toEqual([
      'handled',
      'handled',
      'handled',
      'rate_limited',
    ]);
    expect(astraea.received).toHaveLength(3);
    client.close();
  });
});

describe('ClientRateLimit', () => {
  it('counts IPv4 addresses apart, an IPv6 /64 together, a mapped IPv4 as itself', () => {
    const limit = new ClientRateLimit({ perMin: 1, ipv6Prefix: 64, clock: new ManualClock() });
    expect(limit.take('192.168.1.20').ok).toBe(true);
    expect(limit.take('::ffff:192.168.1.20').ok).toBe(false);
    expect(limit.take('192.168.1.21').ok).toBe(true);
    expect(limit.take('2001:db8:1:2::1').ok).toBe(true);
    expect(limit.take('2001:db8:1:2:ffff::9').ok).toBe(false);
    expect(limit.take('2001:db8:1:3::1').ok).toBe(true);
  });

  it.each([
    ['10.0.0.1', 64, '10.0.0.1'],
    ['::ffff:10.0.0.1', 64, '10.0.0.1'],
    ['2001:db8::1', 64, '2001:db8:0:0:0:0:0:0/64'],
    ['2001:db8:aa:bb:cc::1', 48, '2001:db8:aa:0:0:0:0:0/48'],
    ['2001:db8::1', 128, '2001:db8:0:0:0:0:0:1/128'],
    ['::1', 64, '0:0:0:0:0:0:0:0/64'],
    ['64:ff9b::10.0.0.1', 128, '64:ff9b:0:0:0:0:a00:1/128'],
  ])('clientKey(%s, /%i) is %s', (address, prefix, key) => {
    expect(clientKey(address, prefix)).toBe(key);
  });
});
