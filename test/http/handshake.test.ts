/** GET /handshake: the Python service's fields, ours beside them, behind the API key. */
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.js';
import { startListeningApp } from '../helpers/listening-app.js';
import { VERSION } from '../../src/version.js';

describe('GET /handshake', () => {
  it('answers the Python service’s fields and ours', async () => {
    const t = await startTestApp({
      ECHONET_DISCOVERY_NAME: 'Kitchen Echonet',
      ECHONET_DISCOVERY_HOST: 'kitchen-pi',
      ECHONET_DISCOVERY_ZONE: 'cabin',
      ECHONET_DISCOVERY_SUBZONE: 'main-floor',
      ECHONET_PORT: '9001',
      ECHONET_SESSION_TIMEOUT_S: '12',
      ECHONET_CANCEL_PHRASES: 'cancel,hush',
    });
    const res = await t.request({ method: 'GET', url: '/handshake' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ok: true,
      version: VERSION,
      discovery: {
        enabled: true,
        instance_name: 'Kitchen Echonet',
        host: 'kitchen-pi',
        zone: 'cabin',
        subzone: 'main-floor',
        // Not listening (inject): the configured port.
        port: 9001,
        service_type: '_echonet._tcp',
        // Only `echonet serve` advertises, once it listens.
        advertised: false,
      },
      capabilities: expect.objectContaining({
        asr: false,
        target_routing: true,
        session_management: true,
        route_preview: true,
        api_keys: true,
      }),
      config: { session_timeout_s: 12, cancel_phrases: ['cancel', 'hush'], listen_mode: 'trigger' },
    });
  });

  it('claims a capability exactly when its route is there', async () => {
    const t = await startTestApp();
    const { capabilities } = (await t.request({ method: 'GET', url: '/handshake' })).json<{
      capabilities: Record<string, boolean>;
    }>();
    const routes: Record<string, [method: 'GET' | 'POST', url: string]> = {
      target_routing: ['POST', '/text'],
      session_management: ['GET', '/sessions'],
      state_tracking: ['GET', '/state'],
      event_log: ['GET', '/events'],
      route_preview: ['POST', '/route/preview'],
      runtime_config: ['GET', '/config'],
      api_keys: ['GET', '/keys'],
    };
    expect(Object.keys(capabilities).sort()).toEqual(['asr', ...Object.keys(routes)].sort());
    for (const [key, [method, url]] of Object.entries(routes)) {
      const res = await t.request({ method, url, payload: method === 'POST' ? {} : undefined });
      const missing =
        res.statusCode === 404 && res.json<{ error: string }>().error.startsWith('Route ');
      expect({ key, claimed: capabilities[key] }).toEqual({ key, claimed: !missing });
    }
  });

  it('needs the API key', async () => {
    const t = await startTestApp();
    const res = await t.request({ method: 'GET', url: '/handshake', headers: { 'x-api-key': '' } });
    expect(res.statusCode).toBe(401);
  });

  it('reports the port the server really listens on', async () => {
    const a = await startListeningApp({ ECHONET_PORT: '0', ECHONET_DISCOVERY_ENABLED: 'false' });
    const res = await a.request({ url: '/handshake' });
    const port = Number(new URL(a.url).port);
    expect(res.json()).toMatchObject({ discovery: { enabled: false, port } });
    expect(port).toBeGreaterThan(0);
    await a.close();
  });
});
