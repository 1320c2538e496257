/** `echonet serve`: the only place Echonet listens on a socket and handles signals. */
import { buildApp, usesGeneratedApiKey } from '../app.js';
import type { Config } from '../config.js';
import { GENERATED_API_KEY } from '../store/secrets.js';
import { startRouting, type StartedRouting } from './start-routing.js';

export interface ServeOptions {
  /** The registry opened and the first table build started (cli.ts starts it early). */
  readonly routing?: StartedRouting;
}

export async function serve(config: Config, options: ServeOptions = {}): Promise<void> {
  const routing = options.routing ?? startRouting(config);
  const { store, tableBuilder, initialTable } = routing;
  if (usesGeneratedApiKey(config)) {
    const { value, created } = store.secrets.getOrCreate(GENERATED_API_KEY);
    if (created) announceGeneratedKey(value, config.dbPath);
  }

  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    app = await buildApp(config, { store, tableBuilder, initialTable });
    const log = app.log;
    routing.reportBuilds?.((timing) => log.info(timing, 'routing table built in the worker'));
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await (app ? app.close() : tableBuilder?.close());
    store.close();
    throw err;
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
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
      config.httpTimeoutS * 1000 + SHUTDOWN_SLACK_MS,
    );
    app
      .close()
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
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
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
