/**
 * Sends routed utterances to targets over keep-alive undici pools (one per target origin, kept by
 * the Agent). Never throws: every failure becomes a short reason for the routing decision.
 *
 * A forward succeeds when the target answers 2xx and its body ends within the timeout. A connection
 * refused or reset before any response is retried once, with the identical payload (so the same
 * `event_id`), inside the same deadline; targets de-duplicate on `event_id`. Nothing is retried once
 * a response has started, nor after a timeout. The timeout is kept by deadlines.ts: a forward ends
 * as `timeout` no sooner than the timeout and at most DEADLINE_SLACK_MS (10 ms) after it, plus
 * however long the event loop is busy at that moment, whether it is still waiting for a
 * connection, waiting for the answer, or reading a body that keeps coming.
 *
 * A 2xx body is read as the target's answer (target-answer.ts): a reply to hand back to the speaker
 * and whether to end the conversation. Whatever it holds, the forward counts as delivered.
 */
import type { Dispatcher } from 'undici';
// The Agent alone, not undici's index: that also loads fetch, WebSocket, caches and mocks, which
// cost ~3 MB of heap and 370 KB of bundle that forwarding never uses (bench/NOTES.md). It is a
// plain file of the undici version package-lock.json pins, covered by the forwarder tests.
import Agent from 'undici/lib/dispatcher/agent.js';
import { DeadlineKeeper, type Deadline } from './deadlines.js';
import { NO_ANSWER, readTargetAnswer, type TargetAnswer } from './target-answer.js';

export interface ForwardPayload {
  readonly event_id: string;
  readonly ts: number;
  readonly source_id: string;
  readonly room: string | null;
  /** Null for an utterance delivered outside a session (the active listen mode, a fallback). */
  readonly session_id: string | null;
  /** `fallback`: the utterance was meant for `intended_target`, which failed (ECHONET_FALLBACK_TARGET). */
  readonly mode: 'triggered' | 'open_listen' | 'fallback';
  readonly text: string;
  readonly confidence: number | null;
  /** Only in a fallback's payload: the target the utterance was meant for. */
  readonly intended_target?: string;
}

export type ForwardResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly attempts: number;
      /** What the target answered (a reply, end_session). */
      readonly answer: TargetAnswer;
    }
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
  /** A number, or a function read at each forward (the live http_timeout_s setting). */
  readonly timeoutMs: number | (() => number);
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
  const timeoutOf = typeof timeoutMs === 'function' ? timeoutMs : () => timeoutMs;
  const owned = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connectionsPerTarget ?? 64,
      keepAliveTimeout: 30_000,
      // The deadline below bounds the connect too; this only ends an attempt undici keeps alone.
      connect: { timeout: timeoutOf() },
    });
  const deadlines = new DeadlineKeeper();

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
   * before any failure. The response is taken through undici's handler interface rather than
   * `request()`, which would build a stream, parse headers and run async hooks per forward.
   */
  function attempt(dest: Destination, body: string, deadline: Deadline): Promise<Attempt> {
    return new Promise((resolve) => {
      dispatcher.dispatch(
        {
          origin: dest.origin,
          path: dest.path,
          method: 'POST',
          headers: JSON_HEADERS,
          body,
          // The deadline aborts the request; undici's own timers stay off (see deadlines.ts).
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        new ResponseReader(deadline, resolve),
      );
    });
  }

  return {
    async forward(listenUrl, payload) {
      const dest = destinationOf(listenUrl);
      const body = JSON.stringify(payload);
      // One deadline for both attempts: the forward ends within the timeout plus the keeper's slack.
      const deadline = deadlines.start(timeoutOf());
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

interface Attempt {
  readonly result: ForwardResult;
  readonly started: boolean;
}

/**
 * Reads one forward's response to its end, so the connection returns to the pool, and settles
 * with the outcome: the status, or why it failed (the deadline passed, the body was too large,
 * the socket's reason). A body that never ends or outlasts the deadline is a failed forward.
 */
class ResponseReader implements Dispatcher.DispatchHandler {
  #started = false;
  #status = 0;
  #bytes = 0;
  /** A 2xx body's chunks, kept to read the target's answer; other bodies are only counted. */
  #chunks: Buffer[] | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  /** Set when this side ends the forward; undici then reports the abort as an error. */
  #failure: ForwardFailure | undefined;
  #settled = false;
  readonly #deadline: Deadline;
  readonly #settle: (outcome: Attempt) => void;
  readonly #onDeadline = () => this.#abort('timeout', this.#deadline.reason);

  constructor(deadline: Deadline, settle: (outcome: Attempt) => void) {
    this.#deadline = deadline;
    this.#settle = settle;
    if (deadline.aborted) this.#failure = 'timeout';
    else deadline.on('abort', this.#onDeadline);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The deadline passed while the request waited for a connection.
    if (this.#failure !== undefined)
      controller.abort(this.#deadline.reason ?? new Error('aborted'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#started = true;
    this.#status = statusCode;
    if (statusCode >= 200 && statusCode < 300) this.#chunks = [];
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_RESPONSE_BYTES) this.#abort('body_too_large');
    else if (this.#deadline.passed) this.#abort('timeout', this.#deadline.reason);
    else this.#chunks?.push(chunk);
  }

  onResponseEnd(): void {
    const status = this.#status;
    this.#finish(
      this.#failure !== undefined
        ? { ok: false, reason: this.#failure, attempts: 0 }
        : status >= 200 && status < 300
          ? { ok: true, status, attempts: 0, answer: this.#answer() }
          : { ok: false, reason: `status_${status}`, attempts: 0 },
    );
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#finish({ ok: false, reason: this.#failure ?? failureReason(err), attempts: 0 });
  }

  #answer(): TargetAnswer {
    const chunks = this.#chunks;
    if (chunks === undefined || chunks.length === 0) return NO_ANSWER;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    return readTargetAnswer(body.toString('utf8'));
  }

  #abort(failure: ForwardFailure, reason?: Error): void {
    if (this.#failure !== undefined || this.#settled) return;
    this.#failure = failure;
    this.#controller?.abort(reason ?? new Error(failure));
    // The outcome is known now: the caller does not wait for the socket to be torn down. A request
    // still queued behind busy connections is dropped unsent in onRequestStart when undici gets
    // to it.
    this.#finish({ ok: false, reason: failure, attempts: 0 });
  }

  #finish(result: ForwardResult): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#deadline.off('abort', this.#onDeadline);
    this.#settle({ result, started: this.#started });
  }
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
