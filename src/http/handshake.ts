/**
 * GET /handshake: what a client needs to know before it talks to this Echonet (the Python
 * service's fields, plus ours): version, how it is advertised, what it can do, and the settings
 * that change how utterances are routed.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { SERVICE_TYPE, type DiscoveryInfo } from '../discovery.js';

/**
 * Each capability is true when the routes that provide it are registered, so the handshake never
 * claims a feature this build lacks. `txt` is its name in the mDNS `capabilities` TXT record (the
 * Python service's words where it had one).
 */
const CAPABILITIES = [
  { key: 'target_routing', txt: 'routing', method: 'POST', url: '/text' },
  { key: 'session_management', txt: 'sessions', method: 'GET', url: '/sessions' },
  { key: 'state_tracking', txt: 'state', method: 'GET', url: '/state' },
  { key: 'event_log', txt: 'events', method: 'GET', url: '/events' },
  { key: 'route_preview', txt: 'preview', method: 'POST', url: '/route/preview' },
  { key: 'runtime_config', txt: 'config', method: 'GET', url: '/config' },
  { key: 'api_keys', txt: 'keys', method: 'GET', url: '/keys' },
] as const satisfies readonly { key: string; txt: string; method: HTTPMethods; url: string }[];

export type Capabilities = Record<(typeof CAPABILITIES)[number]['key'], boolean> & {
  /** The Python service transcribed audio itself; Echonet takes text from front ends. */
  asr: false;
};

/** What the app can do; call once every route is registered (after ready). */
export function capabilities(app: FastifyInstance): Capabilities {
  const out: Record<string, boolean> = { asr: false };
  for (const c of CAPABILITIES) out[c.key] = app.hasRoute({ method: c.method, url: c.url });
  return out as Capabilities;
}

/** The capabilities' names for the mDNS TXT record, the ones this app has. */
export function capabilityNames(caps: Capabilities): string[] {
  return CAPABILITIES.filter((c) => caps[c.key]).map((c) => c.txt);
}

/** The routing settings in effect now (live values once they can change without a restart). */
export interface HandshakeConfig {
  readonly session_timeout_s: number;
  readonly cancel_phrases: string[];
  readonly listen_mode: string;
}

export interface HandshakeOptions {
  readonly version: string;
  readonly discovery: DiscoveryInfo;
  /** ECHONET_PORT: reported until the server listens, then the port it really has. */
  readonly port: number;
  /** True while the mDNS advertisement is up (serve starts it once the port is known). */
  readonly advertised: () => boolean;
  readonly describe: () => HandshakeConfig;
}

const HandshakeBody = Type.Object({
  ok: Type.Boolean(),
  version: Type.String(),
  discovery: Type.Object({
    enabled: Type.Boolean(),
    instance_name: Type.String(),
    host: Type.String(),
    zone: Type.String(),
    subzone: Type.String(),
    port: Type.Integer(),
    service_type: Type.String(),
    advertised: Type.Boolean(),
  }),
  capabilities: Type.Record(Type.String(), Type.Boolean()),
  // Open to more live settings (the runtime configuration's) without a schema change here.
  config: Type.Object(
    {
      session_timeout_s: Type.Number(),
      cancel_phrases: Type.Array(Type.String()),
      listen_mode: Type.String(),
    },
    { additionalProperties: true },
  ),
});

export const handshakeRoutes: FastifyPluginAsyncTypebox<HandshakeOptions> = async (
  app,
  { version, discovery, port, advertised, describe },
) => {
  let caps: Capabilities | undefined;
  const schema = {
    summary: 'What this Echonet is and can do, and the settings that change routing',
    tags: ['Service'],
    response: { 200: HandshakeBody },
  };
  app.get('/handshake', { schema }, async () => {
    // Routes cannot be added once the app is ready, so the first answer's view holds.
    caps ??= capabilities(app);
    return {
      ok: true,
      version,
      discovery: {
        enabled: discovery.enabled,
        instance_name: discovery.instanceName,
        host: discovery.host,
        zone: discovery.zone,
        subzone: discovery.subzone,
        port: listeningPort(app) ?? port,
        service_type: `_${SERVICE_TYPE}._tcp`,
        advertised: advertised(),
      },
      capabilities: caps,
      config: describe(),
    };
  });
};

/** The port the server listens on (ECHONET_PORT=0 picks one), or undefined before it listens. */
function listeningPort(app: FastifyInstance): number | undefined {
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : undefined;
}
