/**
 * `echonet serve` with ECHONET_WYOMING_PORT and ECHONET_WYOMING_BINDINGS, found the way Home
 * Assistant finds it: a `_wyoming._tcp` browser sees each port under its own name, and `describe`
 * at the port found answers with that name. A port in use is one line naming the setting.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { runCli, startServer } from '../helpers/cli.js';
import { browseEchonet } from '../helpers/mdns-browser.js';
import { closedPort, recordingTarget } from '../helpers/recording-target.js';
import { expectOneLine } from '../helpers/one-line.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { ask, frame, transcript } from '../helpers/wyoming-client.js';

const API_KEY = 'wyoming-e2e-key-0123456789abcdef';

describe('echonet serve as a Wyoming service', () => {
  it('listens on the Wyoming port and each binding, each advertised as _wyoming._tcp', async () => {
    const { up, down } = browseEchonet('wyoming');
    const name = `Echonet wy ${randomUUID().slice(0, 8)}`;
    const bindingPort = await closedPort();
    const server = await startServer({
      ECHONET_API_KEY: API_KEY,
      ECHONET_DB_PATH: tempDbPath(),
      ECHONET_HOST: '0.0.0.0',
      ECHONET_DISCOVERY_NAME: name,
      ECHONET_DISCOVERY_HOST: 'echonet-wy',
      ECHONET_WYOMING_PORT: '0',
      ECHONET_WYOMING_BINDINGS: `${bindingPort}=astraea`,
    });

    const main = await waitFor(() => up.find((s) => s.name === name), {
      what: `a browser to find ${name} as _wyoming._tcp`,
    });
    expect(main.host).toBe('echonet-wy.local');
    const bound = await waitFor(() => up.find((s) => s.name === `${name} (astraea)`), {
      what: 'the binding advertised',
    });
    expect(bound.port).toBe(bindingPort);

    // What Home Assistant's config flow does with a discovered service: describe, read the name.
    const info = await ask(main.port, frame('describe'));
    expect((info.data.handle as { name: string }[])[0]?.name).toBe(name);
    const boundInfo = await ask(bindingPort, frame('describe'));
    expect((boundInfo.data.handle as { name: string }[])[0]?.name).toBe(`${name} (astraea)`);

    // Then an utterance, as the conversation agent gets it, reaches the assistant.
    const astraea = await recordingTarget();
    const registered = await request(`${server.url}/register`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'astraea', base_url: astraea.url, phrases: ['hey astraea'] }),
    });
    expect(registered.statusCode).toBe(200);
    await registered.body.dump();
    const answer = await ask(
      main.port,
      transcript('Hey Astraea, lock the back door', { satellite_id: 'assist_satellite.hall' }),
    );
    expect(answer.type).toBe('handled');
    expect(astraea.received[0]?.body).toMatchObject({
      source_id: 'assist_satellite.hall',
      text: 'lock the back door',
    });

    expect(await server.stop('SIGTERM')).toBe(0);
    await waitFor(() => down.find((s) => s.name === name), { what: `${name} withdrawn` });
    expect(server.output()).toContain('Wyoming handle service listening');
  });

  it('a Wyoming port in use stops start-up with one line naming the setting', async () => {
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as AddressInfo;
    try {
      const res = await runCli(['serve'], {
        env: {
          ECHONET_API_KEY: API_KEY,
          ECHONET_DB_PATH: tempDbPath(),
          ECHONET_HOST: '127.0.0.1',
          ECHONET_PORT: '0',
          ECHONET_WYOMING_PORT: String(port),
        },
      });
      expect(res.code).toBe(1);
      expectOneLine(
        res.stderr,
        new RegExp(`^echonet: ECHONET_WYOMING_PORT port ${port} is in use on 127\\.0\\.0\\.1 `),
      );
    } finally {
      other.close();
    }
  });
});
