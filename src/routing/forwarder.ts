/**
 * Sends routed utterances to targets over keep-alive undici pools (one per target origin, kept by
 * the Agent). Never throws: every failure becomes a short reason for the routing decision.
 *
 * A forward succeeds when the target answers 2xx and its body ends within the timeout. A connection
 * refused or reset before any response is retried once, with the identical payload (so the same
 * `event_id`), inside the same deadline; targets de-duplicate on `event_id`. Nothing is retried once
 * a response has started, nor after a timeout. The timeout is kept by deadlines.ts, which aborts
 * an overdue forward at most 5% of the timeout (and at most 250 ms) late.
 */
import type { Dispatcher } from 'undici';
// The Agent and `request` alone, not undici's index: that also loads fetch, WebSocket, caches and
// mocks, which cost ~3 MB of heap and 370 KB of bundle that forwarding never uses (bench/NOTES.md).
// The index adds `request` to every dispatcher's prototype; here it is called with `.call`.
// Both are plain files of the undici version package-lock.json pins, covered by the forwarder tests.
import Agent from 'undici/lib/dispatcher/agent.js';
import request from 'undici/lib/api/api-request.js';
import { DeadlineKeeper, tickFor, type Deadline } from './deadlines.js';

export interface ForwardPayload {
  readonly event_id: string;
  readonly ts: number;
  readonly source_id: string;
  readonly room: string | null;
  readonly session_id: string;
  readonly mode: 'triggered' | 'open_listen';
  readonly text: string;
  readonly confidence: number | null;
}

export type ForwardResult =
  | { readonly ok: true; readonly status: number; readonly attempts: number }
  | { readonly ok: false; readonly reason: ForwardFailure; readonly attempts: number };

/**
 * Why a forward failed: `timeout`, `refused`, `reset`, `dns`, `unreachable`, `status_<code>`,
 * `body_too_large` or `error`.
 */
export type ForwardFailure = string;

export interface Forwarder {
  forward(listenUrl: string, payload: ForwardPayload): Promise<ForwardResult>;
  close(): Promise<void>;
}

export interface ForwarderOptions {
  readonly timeoutMs: number;
  /** Most simultaneous connections to one target, so a slow target cannot take every socket. */
  readonly connectionsPerTarget?: number;
  /** Tests and the benchmark may pass their own dispatcher; it is then theirs to close. */
  readonly dispatcher?: Dispatcher;
}

/** A target's answer is read (so the connection can be reused) but never needs to be large. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Where a listen URL's requests go, in the form undici takes. */
interface Destination {
  readonly origin: string;
  readonly path: string;
}

// Shared by every forward; undici reads request headers but never changes them.
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
});

/** Failures where the target cannot have seen a response go out, so one retry is safe. */
const RETRYABLE: ReadonlySet<ForwardFailure> = new Set(['refused', 'reset']);

export function createForwarder(options: ForwarderOptions): Forwarder {
  const { timeoutMs } = options;
  const owned = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connectionsPerTarget ?? 64,
      keepAliveTimeout: 30_000,
      connect: { timeout: timeoutMs },
    });
  const deadlines = new DeadlineKeeper(tickFor(timeoutMs));

  // Listen URLs repeat on every forward; parsing one (and reading its parts, which URL computes
  // afresh on each access) costs more than the rest of the call setup.
  const destinations = new Map<string, Destination>();
  function destinationOf(listenUrl: string): Destination {
    let dest = destinations.get(listenUrl);
    if (dest === undefined) {
      if (destinations.size >= 10_000) destinations.clear();
      const url = new URL(listenUrl);
      dest = { origin: url.origin, path: `${url.pathname}${url.search}` };
      destinations.set(listenUrl, dest);
    }
    return dest;
  }

  /**
   * One POST, bounded by `deadline`; `started` tells whether a response (status line) arrived
   * before any failure.
   */
  async function attempt(
    dest: Destination,
    body: string,
    deadline: Deadline,
  ): Promise<{ result: ForwardResult; started: boolean }> {
    let started = false;
    try {
      const res = await request.call(dispatcher, {
        origin: dest.origin,
        path: dest.path,
        method: 'POST',
        headers: JSON_HEADERS,
        body,
        // The deadline aborts the request; undici's own timers stay off (see deadlines.ts).
        signal: deadline,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      started = true;
      // Read the body to its end (the connection then returns to the pool); a body that never
      // ends, breaks off, is too large or outlasts the deadline is a failed forward.
      const failure = await drain(res.body, deadline);
      if (failure !== undefined) {
        return { result: { ok: false, reason: failure, attempts: 0 }, started };
      }
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return {
        result: ok
          ? { ok: true, status: res.statusCode, attempts: 0 }
          : { ok: false, reason: `status_${res.statusCode}`, attempts: 0 },
        started,
      };
    } catch (err) {
      return { result: { ok: false, reason: failureReason(err), attempts: 0 }, started };
    }
  }

  return {
    async forward(listenUrl, payload) {
      const dest = destinationOf(listenUrl);
      const body = JSON.stringify(payload);
      // One deadline for both attempts: a forward never takes much longer than the timeout.
      const deadline = deadlines.start(timeoutMs);
      const first = await attempt(dest, body, deadline);
      if (first.result.ok || first.started || !RETRYABLE.has(first.result.reason)) {
        return { ...first.result, attempts: 1 };
      }
      if (deadline.passed) return { ok: false, reason: 'timeout', attempts: 1 };
      const second = await attempt(dest, body, deadline);
      return { ...second.result, attempts: 2 };
    },
    async close() {
      if (owned) await dispatcher.close();
    },
  };
}

/**
 * Reads a response body to its end so the connection returns to the pool. Resolves with why it
 * failed (`body_too_large`, `timeout`, or the socket's reason) or undefined when it ended well.
 * Events rather than `for await`: an async iterator per forward was measurable on the hot path.
 */
function drain(
  body: Dispatcher.ResponseData['body'],
  deadline: Deadline,
): Promise<ForwardFailure | undefined> {
  return new Promise((resolve) => {
    let bytes = 0;
    const fail = (reason: ForwardFailure) => {
      body.off('data', onData);
      body.destroy();
      resolve(reason);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_RESPONSE_BYTES) fail('body_too_large');
      else if (deadline.passed) fail('timeout');
    };
    body.on('data', onData);
    body.once('end', () => resolve(undefined));
    body.once('error', (err) => resolve(failureReason(err)));
  });
}

const REASON_BY_CODE: Readonly<Record<string, ForwardFailure>> = {
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_ABORTED: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
};

/** Maps undici's and the socket layer's failure codes to one stable word. */
export function failureReason(err: unknown): ForwardFailure {
  const e = err as { code?: string; name?: string; cause?: unknown };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const direct = e?.code !== undefined ? REASON_BY_CODE[e.code] : undefined;
  if (direct) return direct;
  if (e?.cause !== undefined && e.cause !== err) {
    const nested = failureReason(e.cause);
    if (nested !== 'error') return nested;
  }
  return 'error';
}
