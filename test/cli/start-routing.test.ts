/** The first steps of `echonet serve` (src/cli/start-routing.ts): what is set up before the server. */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startRouting, type StartedRouting } from '../../src/cli/start-routing.js';
import { WorkerEventSink } from '../../src/store/event-sink.js';
import { tempDbPath } from '../helpers/temp.js';

const WORKERS = {
  table: new URL('../../dist/table-worker.mjs', import.meta.url),
  events: new URL('../../dist/event-worker.mjs', import.meta.url),
};

const started: StartedRouting[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) {
    await s.initialTable;
    await s.tableBuilder?.close();
    s.store.close();
  }
});

function start(env: Record<string, string>): StartedRouting {
  const config = loadConfig({ ECHONET_DB_PATH: tempDbPath(), ...env }, { envFile: false });
  const s = startRouting(config, WORKERS);
  started.push(s);
  return s;
}

describe('the decision log’s writer thread', () => {
  it('is set up (started on its first write) while the log is on', () => {
    expect(start({}).eventSink).toBeInstanceOf(WorkerEventSink);
    expect(start({ ECHONET_EVENT_LOG: 'metadata' }).eventSink).toBeInstanceOf(WorkerEventSink);
  });

  it('is never set up with the log off: retention runs on the store’s connection', () => {
    expect(start({ ECHONET_EVENT_LOG: 'off' }).eventSink).toBeUndefined();
  });
});
