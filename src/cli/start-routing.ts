/**
 * The first steps of `echonet serve`, taken before the server's modules (Fastify, undici) are
 * loaded: open the registry (migrating it) and start building the first routing table in the
 * worker thread, so at 100 000 phrases the build runs on the other core while the rest of the
 * server loads and is put together, instead of after it.
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
import { openStore, type Store } from '../store/store.js';

export interface StartedRouting {
  readonly store: Store;
  /** Absent without a worker module: tables then build inline. */
  readonly tableBuilder?: TableBuilder;
  /** The first build, already running. */
  readonly initialTable?: Promise<RoutingTable>;
  /** Hands each worker build's figures to `report` (those before the call too, once there is a log). */
  reportBuilds?(report: (timing: WorkerBuildTiming) => void): void;
}

export function startRouting(config: Config, tableWorker?: URL): StartedRouting {
  const store = openStore(config.dbPath);
  if (!tableWorker) return { store };
  const match = { fuzzy: config.matchFuzzy, minScore: config.matchMinScore };
  const early: WorkerBuildTiming[] = [];
  let report: ((timing: WorkerBuildTiming) => void) | undefined;
  const tableBuilder = new WorkerTableBuilder({
    workerUrl: tableWorker,
    dbPath: config.dbPath,
    match,
    inline: inlineTableBuilder(() => store.targets.snapshot(), match),
    sizeBound: () => store.targets.count() * MAX_PHRASES,
    onBuilt: (timing) => (report ? report(timing) : early.push(timing)),
  });
  const initialTable = tableBuilder.build();
  // buildApp awaits it (and falls back to an inline build); until then a failure is not unhandled.
  initialTable.catch(() => {});
  return {
    store,
    tableBuilder,
    initialTable,
    reportBuilds(to) {
      report = to;
      for (const timing of early.splice(0)) to(timing);
    },
  };
}
