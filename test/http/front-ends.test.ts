/** GET /front-ends: the front ends taking utterances, read when asked. */
import { connect } from 'node:net';
import { expect, test } from 'vitest';
import { startTestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';

test('HTTP is listening, Wyoming off until it listens, MQTT off when no front end reports', async () => {
  const t = await startTestApp();
  const res = await t.request({ url: '/front-ends' });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({
    ok: true,
    http: { state: 'listening' },
    wyoming: { state: 'off', ports: [], connections: 0 },
    mqtt: { state: 'off' },
  });
  expect((await t.app.inject({ url: '/front-ends' })).statusCode).toBe(401);
});

test('Wyoming: its ports and open connections', async () => {
  const t = await startTestApp();
  const [listening] = await t.app.wyoming.listen({ host: '127.0.0.1', port: 0 });
  const socket = connect(listening!.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  try {
    const body = await waitFor(
      async () => {
        const b = (await t.request({ url: '/front-ends' })).json();
        return b.wyoming.connections === 1 && b;
      },
      { what: 'the Wyoming connection counted' },
    );
    expect(body.wyoming).toEqual({
      state: 'listening',
      ports: [
        { host: '127.0.0.1', port: listening!.port, name: listening!.name, default_target: null },
      ],
      connections: 1,
    });
  } finally {
    socket.destroy();
  }
});

test('MQTT: the state its front end reports, read when asked', async () => {
  let state = 'reconnecting';
  const t = await startTestApp({}, { mqttStatus: () => state });
  expect((await t.request({ url: '/front-ends' })).json().mqtt).toEqual({ state: 'reconnecting' });
  state = 'connected';
  expect((await t.request({ url: '/front-ends' })).json().mqtt).toEqual({ state: 'connected' });
});
