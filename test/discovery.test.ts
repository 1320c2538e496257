/**
 * The mDNS advertisement, for real: a browser from bonjour-service itself, on this machine's
 * network, finds the service, reads its TXT record and sees it withdrawn; a machine where the
 * multicast socket cannot be had gets one warning and a server that keeps working.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { afterFile } from './helpers/cleanup.js';
import { loadConfig } from '../src/config.js';
import {
  advertise,
  discoveryInfo,
  isLoopbackHost,
  txtRecord,
  type DiscoveryInfo,
  type DiscoveryLog,
} from '../src/discovery.js';
import { browseEchonet } from './helpers/mdns-browser.js';
import { waitFor, within } from './helpers/wait.js';

/** Collects what the advertiser logs, by level. */
function recordingLog() {
  const lines: { level: 'info' | 'warn' | 'debug'; msg: string; obj: object }[] = [];
  const log: DiscoveryLog = {
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    debug: (obj, msg) => lines.push({ level: 'debug', msg, obj }),
  };
  return { log, lines, warnings: () => lines.filter((l) => l.level === 'warn') };
}

/** A name no other test run on this network uses. */
const uniqueName = () => `Echonet test ${randomUUID().slice(0, 8)}`;

function info(overrides: Partial<DiscoveryInfo> = {}): DiscoveryInfo {
  return {
    enabled: true,
    instanceName: uniqueName(),
    host: 'echonet-test',
    zone: 'home',
    subzone: 'kitchen',
    ...overrides,
  };
}

describe('advertise', () => {
  it('is found by a bonjour-service browser, with the TXT record, and withdrawn on stop', async () => {
    const browser = browseEchonet();
    const recorded = recordingLog();
    const me = info();
    const ad = advertise({
      info: me,
      port: 43_210,
      version: '9.8.7',
      capabilities: ['routing', 'sessions', 'preview'],
      log: recorded.log,
    });
    afterFile(() => ad.stop());
    expect(await within(ad.settled, undefined, 'the advertisement')).toBe('advertised');

    const found = await waitFor(() => browser.up.find((s) => s.name === me.instanceName), {
      what: `a browser to find ${me.instanceName}`,
    });
    expect(found.type).toBe('echonet');
    expect(found.protocol).toBe('tcp');
    expect(found.port).toBe(43_210);
    expect(found.host).toBe('echonet-test.local');
    expect(found.txt).toEqual({
      version: '9.8.7',
      zone: 'home',
      subzone: 'kitchen',
      capabilities: 'routing,sessions,preview',
    });
    expect(recorded.warnings()).toEqual([]);
    expect(recorded.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      'advertising _echonet._tcp on the local network (mDNS)',
    ]);

    await within(ad.stop(), undefined, 'stop');
    expect(ad.status).toBe('stopped');
    // The goodbye (TTL 0) removes it from the browser at once, not when its records expire.
    await waitFor(() => browser.down.find((s) => s.name === me.instanceName), {
      what: `the browser to see ${me.instanceName} withdrawn`,
    });
    await browser.close();
  });

  it('advertises each Wyoming port as _wyoming._tcp, found by a browser and withdrawn on stop', async () => {
    const browser = browseEchonet('wyoming');
    const recorded = recordingLog();
    const me = info();
    const bound = `${me.instanceName} (astraea)`;
    const ad = advertise({
      info: me,
      port: 43_220,
      version: '9.8.7',
      capabilities: [],
      log: recorded.log,
      wyoming: [
        { name: me.instanceName, port: 43_221 },
        { name: bound, port: 43_222 },
      ],
    });
    afterFile(() => ad.stop());
    expect(await within(ad.settled, undefined, 'the advertisement')).toBe('advertised');
    for (const [name, port] of [
      [me.instanceName, 43_221],
      [bound, 43_222],
    ] as const) {
      const found = await waitFor(() => browser.up.find((s) => s.name === name), {
        what: `a browser to find ${name} as _wyoming._tcp`,
      });
      expect(found.type).toBe('wyoming');
      expect(found.protocol).toBe('tcp');
      expect(found.port).toBe(port);
      expect(found.host).toBe('echonet-test.local');
    }
    expect(recorded.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      'advertising _echonet._tcp on the local network (mDNS)',
      'advertising _wyoming._tcp on the local network (mDNS)',
      'advertising _wyoming._tcp on the local network (mDNS)',
    ]);
    // A binding removed and another added while running (PUT /config wyoming_bindings).
    const added = `${me.instanceName} (echobell)`;
    ad.setWyoming([
      { name: me.instanceName, port: 43_221 },
      { name: added, port: 43_223 },
    ]);
    await waitFor(() => browser.down.find((s) => s.name === bound), {
      what: `the browser to see ${bound} withdrawn`,
    });
    const found = await waitFor(() => browser.up.find((s) => s.name === added), {
      what: `the browser to find ${added}`,
    });
    expect(found.port).toBe(43_223);
    expect(browser.down.find((s) => s.name === me.instanceName)).toBeUndefined();

    await within(ad.stop(), undefined, 'stop');
    await waitFor(() => browser.down.find((s) => s.name === added), {
      what: `the browser to see ${added} withdrawn`,
    });
    await browser.close();
  });

  it('warns once when another service on the network has the same name', async () => {
    const name = uniqueName();
    const first = recordingLog();
    const second = recordingLog();
    const start = (port: number, log: DiscoveryLog) =>
      advertise({ info: info({ instanceName: name }), port, version: '1', capabilities: [], log });
    const a = start(43_212, first.log);
    afterFile(() => a.stop());
    expect(await within(a.settled, undefined, 'the first advertisement')).toBe('advertised');
    const b = start(43_213, second.log);
    afterFile(() => b.stop());
    expect(await within(b.settled, undefined, 'the second advertisement')).toBe('advertised');

    // The second hears the first answer its start-up query; the first hears the second announce.
    for (const recorded of [first, second]) {
      const clash = await waitFor(() => recorded.warnings()[0], { what: 'a name clash warning' });
      expect(clash.msg).toBe(
        `another service on the network is advertised as "${name}"; browsers will see only one ` +
          'of the two: give each Echonet its own ECHONET_DISCOVERY_NAME',
      );
    }
    await Promise.all([a.stop(), b.stop()]);
    expect(first.warnings()).toHaveLength(1);
    expect(second.warnings()).toHaveLength(1);
  });

  it('without the multicast socket: one warning, no throw, and stop still resolves', async () => {
    // Another program holding the mDNS port exclusively is what an mDNS-less machine looks like
    // to the socket: the bind fails (here on a free port, so the real 5353 is left alone).
    const holder: Socket = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve) => holder.bind(0, '0.0.0.0', resolve));
    afterFile(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = holder.address().port;

    const recorded = recordingLog();
    const ad = advertise({
      info: info(),
      port: 43_211,
      version: '1.0.0',
      capabilities: [],
      log: recorded.log,
      mdns: { port },
    });
    // advertise() hands back its handle before any packet is sent: start-up never waits for it.
    expect(ad.status).toBe('starting');
    expect(await within(ad.settled, undefined, 'the advertisement')).toBe('unavailable');
    await within(ad.stop(), undefined, 'stop');

    const warnings = recorded.warnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(
      /^mDNS discovery unavailable .*ECHONET_DISCOVERY_ENABLED=false/,
    );
    expect(warnings[0]?.obj).toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('discoveryInfo', () => {
  it('reads the ECHONET_DISCOVERY_* settings, with the documented defaults', () => {
    const defaults = discoveryInfo(loadConfig({}, { envFile: false }));
    expect(defaults).toMatchObject({ enabled: true, instanceName: 'Echonet', zone: 'home' });
    expect(defaults.subzone).toBe('');
    // Unset, the host is this machine's name, as one DNS label.
    expect(defaults.host).toMatch(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/);

    const set = discoveryInfo(
      loadConfig(
        {
          ECHONET_DISCOVERY_ENABLED: 'false',
          ECHONET_DISCOVERY_NAME: 'Back door',
          ECHONET_DISCOVERY_HOST: 'echonet-2.local',
          ECHONET_DISCOVERY_ZONE: 'cabin',
          ECHONET_DISCOVERY_SUBZONE: 'upstairs',
        },
        { envFile: false },
      ),
    );
    expect(set).toEqual({
      enabled: false,
      instanceName: 'Back door',
      host: 'echonet-2',
      zone: 'cabin',
      subzone: 'upstairs',
    });
  });

  it('puts the Python service’s TXT keys in the record', () => {
    expect(txtRecord(info({ subzone: '' }), '0.1.0', ['routing', 'state'])).toEqual({
      version: '0.1.0',
      zone: 'home',
      subzone: '',
      capabilities: 'routing,state',
    });
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
    ['echonet.lan', false],
  ])('isLoopbackHost(%s) is %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
