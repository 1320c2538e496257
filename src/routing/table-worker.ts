/**
 * The routing-table worker thread's entry point (bundled alone as dist/table-worker.mjs, so it
 * starts in tens of milliseconds rather than loading the whole server). For each request it opens
 * the registry read-only, builds the table and posts it back as plain data with every array's
 * buffer in the transfer list (moved, not copied). Everything it uses lives in this thread's own
 * module instances: the phonetic cache and the hashing scratch buffers are per thread.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { readTargets } from '../store/store.js';
import { transferList } from '../matching/matcher.js';
import { buildRoutingTableData } from './routing-table.js';
import type { BuildReply, BuildRequest } from './table-builder.js';

const port = parentPort;
if (!port) throw new Error('table-worker runs only as a worker thread');

/**
 * Niceness of a background rebuild: the lowest, so a busy event loop always comes first (the bench's
 * 100 registrations under load: /text p99 3.1x the p99 without at niceness 10, 2.5x at 19, same
 * host and hour, builds back to back in both). On Linux a thread's priority is its own, so this
 * lowers only this worker's thread; it is never raised again (that needs privileges), and the
 * worker ends after its burst of builds anyway.
 */
const BACKGROUND_NICE = 19;
let lowered = false;

port.on('message', (request: BuildRequest) => {
  let reply: BuildReply;
  if (request.background && !lowered) {
    lowered = true;
    try {
      setPriority(BACKGROUND_NICE);
    } catch {
      // Not permitted here (some containers): the build runs at normal priority.
    }
  }
  try {
    const started = performance.now();
    const targets = readTargets(request.dbPath);
    const read = performance.now();
    const table = buildRoutingTableData(targets, request.match);
    reply = {
      ok: true,
      table,
      readMs: read - started,
      buildMs: performance.now() - read,
    };
  } catch (err) {
    reply = { ok: false, error: (err as Error).message };
  }
  port.postMessage(reply, transferList(reply));
});
