/**
 * The decision log's writer thread (bundled alone as dist/event-worker.mjs). It holds its own
 * connection to the registry file, set up for the log alone: no fsync per commit (a crash of the
 * process loses nothing committed; a power cut may lose the last moments, as the README says) and
 * a lock wait that blocks only this thread. Requests are handled one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.js';
import type { EventWorkerReply, EventWorkerRequest } from './event-sink.js';
import { EventWriter } from './events.js';
import { assertKnownVersion } from './migrations.js';

const port = parentPort;
if (!port) throw new Error('event-worker runs only as a worker thread');

const { dbPath } = workerData as { dbPath: string };
const db = openDatabase(dbPath, { verify: assertKnownVersion });
const writer = new EventWriter(db, { dedicated: true });

port.on('message', (request: EventWorkerRequest) => {
  let reply: EventWorkerReply;
  try {
    let value: unknown;
    switch (request.op) {
      case 'insert':
        value = writer.insertEncoded(request.batch);
        break;
      case 'pruneOlderThan':
        value = writer.pruneOlderThan(...request.args);
        break;
      case 'pruneBeyond':
        value = writer.pruneBeyond(...request.args);
        break;
      case 'close':
        if (db.open) db.close();
        value = null;
        break;
    }
    reply = { id: request.id, ok: true, value };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    reply = {
      id: request.id,
      ok: false,
      error: (err as Error).message,
      ...(typeof code === 'string' && { code }),
    };
  }
  port.postMessage(reply);
});
