/**
 * `wyoming_bindings` through the runtime config API: a binding added opens its port at once, one
 * removed closes it (and the variable's value comes back on DELETE), a bad value is a 400 naming
 * the key, and a port that cannot be had is logged while the other bindings keep working.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { closedPort } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait.js';
import { ask, frame } from '../helpers/wyoming-client.js';

const put = (t: TestApp, value: string) =>
  t.request({ method: 'PUT', url: '/config/wyoming_bindings', payload: { value } });

/** True once nothing listens on the port (a connection is refused). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The handle program's name that `describe` on the port gives, once it answers. */
async function nameAt(port: number): Promise<string> {
  const info = await waitFor(() => ask(port, frame('describe')).catch(() => undefined), {
    what: `port ${port} to answer describe`,
  });
  return (info.data.handle as { name: string }[])[0]?.name ?? '';
}

describe('wyoming_bindings, live', () => {
  it('opens and closes binding ports as the setting changes', async () => {
    const [first, second] = [await closedPort(), await closedPort()];
    const t = await startTestApp({ ECHONET_WYOMING_BINDINGS: `${first}=astraea` });
    await t.app.wyoming.listen({ host: '127.0.0.1', port: 0 });
    expect(await nameAt(first)).toBe('Echonet (astraea)');
    const changes: number[][] = [];
    t.app.wyoming.onChange((l) => changes.push(l.map((x) => x.port)));

    const res = await put(t, `${second}=echobell`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ value: `${second}=echobell`, origin: 'api' });
    expect(await nameAt(second)).toBe('Echonet (echobell)');
    await waitFor(() => refused(first), { what: `port ${first} closed` });
    await waitFor(() => changes.length > 0, { what: 'the change to be told' });
    expect(changes.at(-1)?.slice(1)).toEqual([second]);

    // Empty: no bindings at all, over the variable's.
    expect((await put(t, '')).statusCode).toBe(200);
    await waitFor(() => refused(second), { what: `port ${second} closed` });
    expect(t.app.wyoming.listening).toHaveLength(1);

    // Cleared: back to the variable's binding.
    const cleared = await t.request({ method: 'DELETE', url: '/config/wyoming_bindings' });
    expect(cleared.json()).toMatchObject({ value: `${first}=astraea`, origin: 'env' });
    expect(await nameAt(first)).toBe('Echonet (astraea)');
  });

  it('refuses a value that is no binding list with a 400 naming the key', async () => {
    const t = await startTestApp();
    const res = await put(t, '10801=astraea,10801=echobell');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe(
      'body.value for wyoming_bindings must be a str: a comma-separated list of port=target (10801=astraea,10802=echobell), each port once; got "10801=astraea,10801=echobell"',
    );
  });

  it('a port in use is logged and skipped; the other bindings open', async () => {
    const taken = await startTestApp();
    const [busy] = await taken.app.wyoming.listen({ host: '127.0.0.1', port: 0, bindings: [] });
    const free = await closedPort();
    const lines: string[] = [];
    const t = await startTestApp(
      {},
      {
        logger: {
          level: 'error',
          stream: { write: (line: string) => lines.push(line) },
        },
      },
    );
    await t.app.wyoming.listen({ host: '127.0.0.1', port: 0 });
    expect((await put(t, `${busy?.port}=astraea,${free}=echobell`)).statusCode).toBe(200);
    expect(await nameAt(free)).toBe('Echonet (echobell)');
    await waitFor(() => lines.some((l) => l.includes('Wyoming binding could not be opened')), {
      what: 'the error logged',
    });
    expect(lines.join('')).toContain(`wyoming_bindings port ${busy?.port} is in use`);
  });
});
