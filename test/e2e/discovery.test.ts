/**
 * `echonet serve` on the network, found the way an assistant finds it: a bonjour-service browser
 * sees `_echonet._tcp` at the port the server really listens on (ECHONET_PORT=0), with its TXT
 * record, and sees it withdrawn when the server stops. On loopback nothing is advertised.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { startServer } from '../helpers/cli.js';
import { browseEchonet } from '../helpers/mdns-browser.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const API_KEY = 'discovery-test-key-0123456789abcdef';

async function handshake(url: string) {
  const res = await request(`${url}/handshake`, { headers: { 'x-api-key': API_KEY } });
  return (await res.body.json()) as { discovery: { advertised: boolean; port: number } };
}

describe('echonet serve and mDNS', () => {
  it('advertises the listening port with its TXT record, and withdraws it on SIGTERM', async () => {
    const { up, down } = browseEchonet();

    const name = `Echonet e2e ${randomUUID().slice(0, 8)}`;
    const server = await startServer({
      ECHONET_API_KEY: API_KEY,
      ECHONET_DB_PATH: tempDbPath(),
      ECHONET_HOST: '0.0.0.0',
      ECHONET_DISCOVERY_NAME: name,
      ECHONET_DISCOVERY_HOST: 'echonet-e2e',
      ECHONET_DISCOVERY_ZONE: 'cabin',
      ECHONET_DISCOVERY_SUBZONE: 'loft',
    });
    const port = Number(new URL(server.url).port);

    const found = await waitFor(() => up.find((s) => s.name === name), {
      what: `a browser to find ${name}`,
    });
    expect(found.port).toBe(port);
    expect(found.host).toBe('echonet-e2e.local');
    expect(found.txt).toEqual({
      version: VERSION,
      zone: 'cabin',
      subzone: 'loft',
      capabilities: 'routing,sessions,state,events,preview,config,keys',
    });
    const shake = await waitFor(async () => {
      const h = await handshake(server.url);
      return h.discovery.advertised ? h : undefined;
    });
    expect(shake.discovery.port).toBe(port);

    expect(await server.stop('SIGTERM')).toBe(0);
    await waitFor(() => down.find((s) => s.name === name), {
      what: `the browser to see ${name} withdrawn`,
    });
    expect(server.output()).toContain('advertising _echonet._tcp on the local network (mDNS)');
    expect(server.output()).not.toMatch(/mDNS discovery unavailable/);
  });

  it('does not advertise a server only this machine can reach', async () => {
    const server = await startServer({
      ECHONET_API_KEY: API_KEY,
      ECHONET_DB_PATH: tempDbPath(),
      ECHONET_HOST: '127.0.0.1',
    });
    expect((await handshake(server.url)).discovery.advertised).toBe(false);
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.output()).toContain('mDNS discovery off: ECHONET_HOST is a loopback address');
    expect(server.output()).not.toContain('advertising _echonet._tcp');
  });
});
