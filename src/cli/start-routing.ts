/**
 * The first steps of `echonet serve`, taken before the server's modules (Fastify, undici) are
 * loaded: open the registry (migrating it), build the first routing table, and set up the worker
 * that later rebuilds run in.
 *
 * The first table is built on the main thread: nothing routes before it exists, so there is no
 * event loop to keep free, and measured on a quiet host at 100 000 phrases (bench/NOTES.md, fifth
 * pass) it starts sooner (735 against 859 ms to the first answered /health) and leaves less
 * resident after a load (117 against 127 MiB) than a build in the worker: memory the build frees on
 * the main thread is reused by the load, while a worker's is not.
 */
import type { Config } from '../config.js';
import { MAX_PHRASES } from '../registration.js';
import type { RoutingTable } from '../routing/routing-table.js';
import {
  inlineTableBuilder,
  WorkerTableBuilder,
  type TableBuilder,
  type WorkerBuildTiming,
} from '../routing/table-builder.js';
import { RuntimeSettings } from '../runtime-settings.js';
import { WorkerEventSink, type EventSink } from '../store/event-sink.js';
import { openStore, type Store } from '../store/store.js';

export interface StartedRouting {
  readonly store: Store;
  /** The live settings, read from the store's `config` table over `config`. */
  readonly runtime: RuntimeSettings;
  /** Absent without a worker module: tables then build inline. */
  readonly tableBuilder?: TableBuilder;
  /** The first table, built on the main thread. */
  readonly initialTable?: Promise<RoutingTable>;
  /** Writes the decision log from a worker thread (absent without the worker module: inline). */
  readonly eventSink?: EventSink;
  /** Hands each worker build's figures to `report` (those before the call too, once there is a log). */
  reportBuilds?(report: (timing: WorkerBuildTiming) => void): void;
}

/** `fromEnv`: the settings a variable gave (config.ts `loadSettings`), for GET /config. */
export function startRouting(
  config: Config,
  workers: { readonly table?: URL | undefined; readonly events?: URL | undefined } = {},
  fromEnv?: ReadonlySet<keyof Config>,
): StartedRouting {
  const tableWorker = workers.table;
  const store = openStore(config.dbPath);
  let runtime: RuntimeSettings;
  try {
    runtime = new RuntimeSettings(config, store.config, fromEnv && { fromEnv });
  } catch (err) {
    store.close();
    throw err;
  }
  // With the log off nothing is written: retention's occasional deletes of rows logged earlier run
  // on the store's connection, and no writer thread (a second isolate, ~10 MiB) is ever started.
  const eventSink =
    workers.events && config.eventLog !== 'off'
      ? new WorkerEventSink({ workerUrl: workers.events, dbPath: config.dbPath })
      : undefined;
  if (!tableWorker) return { store, runtime, ...(eventSink && { eventSink }) };
  // Match settings set through the API apply to the first table and every rebuild.
  const match = () => runtime.match;
  const inline = inlineTableBuilder(() => store.targets.snapshot(), match);
  const early: WorkerBuildTiming[] = [];
  let report: ((timing: WorkerBuildTiming) => void) | undefined;
  const tableBuilder = new WorkerTableBuilder({
    workerUrl: tableWorker,
    dbPath: config.dbPath,
    match,
    inline,
    // Each target compiles its phrases and its name.
    sizeBound: () => store.targets.count() * (MAX_PHRASES + 1),
    rebuildsOnly: true,
    onBuilt: (timing) => (report ? report(timing) : early.push(timing)),
  });
  const initialTable = inline.build();
  // buildApp awaits it (and falls back to another inline build); until then a failure is not unhandled.
  initialTable.catch(() => {});
  return {
    store,
    runtime,
    ...(eventSink && { eventSink }),
    tableBuilder,
    initialTable,
    reportBuilds(to) {
      report = to;
      for (const timing of early.splice(0)) to(timing);
    },
  };
}
