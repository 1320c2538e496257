/** `echonet serve`: the only place Echonet listens on a socket and handles signals. */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, usesGeneratedApiKey } from '../app.js';
import type { Config } from '../config.js';
import { advertise, discoveryInfo, isLoopbackHost, type Advertisement } from '../discovery.js';
import { ConfigError } from '../errors.js';
import { capabilities, capabilityNames } from '../http/handshake.js';
import { GENERATED_API_KEY } from '../store/secrets.js';
import { type Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { Listening } from '../wyoming/server.js';
import { assertWritableDbLocation } from './db-location.js';
import { upgradeSummary } from './migrate.js';
import { startRouting, type StartedRouting } from './start-routing.js';
import type { StopSignals } from './stop-signals.js';

export interface ServeOptions {
  /** The registry opened and the first table build started (cli.ts starts it early). */
  readonly routing?: StartedRouting;
}

/**
 * Opens the database, builds the app and listens, unless a stop signal arrives first (`signals`
 * are caught before this starts, so a stop during start-up ends the same clean way as later).
 */
export async function serve(
  config: Config,
  signals: StopSignals,
  options: ServeOptions = {},
): Promise<void> {
  if (!options.routing) assertWritableDbLocation(config.dbPath);
  const routing = options.routing ?? startRouting(config);
  const { store, runtime, tableBuilder, initialTable, eventSink } = routing;
  let app: FastifyInstance | undefined;
  let advertisement: Advertisement | undefined;
  try {
    if (usesGeneratedApiKey(config)) {
      const { value, created } = store.secrets.getOrCreate(GENERATED_API_KEY);
      if (created) announceGeneratedKey(value, config.dbPath);
    }
    app = await buildApp(config, {
      store,
      runtime,
      tableBuilder,
      initialTable,
      ...(eventSink && { eventSink }),
      advertised: () => advertisement?.status === 'advertised',
    });
    const log = app.log;
    routing.reportBuilds?.((timing) => log.info(timing, 'routing table built in the worker'));
    logUpgrade(app.log, store);
    if (signals.received === undefined) {
      app.log.info({ db: store.path, host: config.host, port: config.port }, 'starting');
      await app.listen({ host: config.host, port: config.port });
      const wyoming = await app.wyoming.listen();
      // Connects in the background: a broker that is down is retried; HTTP and Wyoming serve now.
      await app.mqtt.start();
      advertisement = startDiscovery(app, config, wyoming);
      // A binding added or removed through PUT /config is advertised or withdrawn too.
      app.wyoming.onChange((listening) =>
        advertisement?.setWyoming(listening.map((w) => ({ name: w.name, port: w.port }))),
      );
    }
  } catch (err) {
    await (app ? app.close() : tableBuilder?.close());
    store.close();
    throw listenError(err, config) ?? err;
  }
  const running = app;
  // The HTTP timeout in effect when the stop comes (PUT /config may have changed it).
  signals.onStop((signal) =>
    shutdown(running, store, runtime.values.httpTimeoutS, signal, advertisement),
  );
}

/**
 * Advertises the server on the local network once it listens (so the real port is known). Returns
 * at once: the advertisement settles in the background, and a network without multicast only logs
 * a warning.
 */
function startDiscovery(
  app: FastifyInstance,
  config: Config,
  wyoming: readonly Listening[],
): Advertisement | undefined {
  if (!config.discoveryEnabled) return undefined;
  if (isLoopbackHost(config.host)) {
    app.log.info(
      { host: config.host },
      'mDNS discovery off: ECHONET_HOST is a loopback address, which other machines cannot reach',
    );
    return undefined;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  try {
    return advertise({
      info: discoveryInfo(config),
      port,
      version: VERSION,
      capabilities: capabilityNames(capabilities(app)),
      log: app.log,
      wyoming: wyoming.map((w) => ({ name: w.name, port: w.port })),
    });
  } catch (err) {
    app.log.warn(
      { err },
      'mDNS discovery could not start; Echonet works, but browsers will not find it',
    );
    return undefined;
  }
}

function logUpgrade(log: FastifyBaseLogger, store: Store): void {
  const upgrade = upgradeSummary(store.migrated);
  if (upgrade === undefined) return;
  const { from, to } = upgrade;
  log.info(
    { db: store.path, from, to },
    from === 0
      ? `database created at schema version ${to}`
      : `database upgraded from schema version ${from} to ${to}`,
  );
}

/**
 * The reasons a listen fails that a user fixes in the configuration, as one line saying which
 * setting to change; undefined for anything else.
 */
export function listenError(err: unknown, config: Config): ConfigError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const { host, port } = config;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `port ${port} is in use on ${host}; set ECHONET_PORT to a free port, or stop the program using it`,
      );
    case 'EACCES':
      return new ConfigError(
        `port ${port} needs more privileges than this user has; set ECHONET_PORT to 1024 or above`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ConfigError(
        `host ${JSON.stringify(host)} not found; set ECHONET_HOST to an address of this machine (0.0.0.0 for all)`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `address ${host} is not one of this machine's; set ECHONET_HOST to one of its addresses (0.0.0.0 for all)`,
      );
    default:
      return undefined;
  }
}

function shutdown(
  app: FastifyInstance,
  store: Store,
  httpTimeoutS: number,
  signal: NodeJS.Signals,
  advertisement: Advertisement | undefined,
) {
  app.log.info({ signal }, 'shutting down: finishing in-flight requests');
  // Withdrawn first, so browsers stop offering a server that no longer takes new requests.
  const withdrawn = advertisement?.stop();
  // app.close() stops accepting, then waits for in-flight requests (and their forwards). A
  // keep-alive connection whose request finishes meanwhile would be kept open for the
  // keep-alive timeout (72 s), so idle connections are closed as they appear; and whatever is
  // still open once every forward must have ended (the HTTP timeout, plus slack) is cut.
  const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
  const deadline = setTimeout(
    () => {
      app.log.warn('shutdown: closing connections still open after the HTTP timeout');
      app.server.closeAllConnections();
    },
    httpTimeoutS * 1000 + SHUTDOWN_SLACK_MS,
  );
  Promise.all([app.close(), withdrawn])
    .finally(() => {
      clearInterval(reaper);
      clearTimeout(deadline);
    })
    .then(() => {
      store.close();
      app.log.info('stopped');
      process.exit(0);
    })
    .catch((err: unknown) => {
      app.log.error({ err }, 'shutdown failed');
      store.close();
      process.exit(1);
    });
}

/** How long past the HTTP timeout shutdown waits for slow clients before cutting connections. */
const SHUTDOWN_SLACK_MS = 2000;

/** Printed once, on the start that generated the key; never written to the JSON log. */
function announceGeneratedKey(key: string, dbPath: string): void {
  process.stderr.write(
    [
      '',
      'No ECHONET_API_KEY is set, so Echonet generated one and stored it in ' + dbPath + ':',
      '',
      `    ${key}`,
      '',
      'Clients send it as the X-API-Key header. It is shown only this once (`echonet api-key`',
      'prints it again). To use your own, set ECHONET_API_KEY in the environment or in .env.',
      '',
    ].join('\n') + '\n',
  );
}
