/**
 * Sends routed utterances to targets over keep-alive undici pools (one per target origin, kept by
 * the Agent). Never throws: every failure becomes a short reason for the routing decision.
 */
import { Agent, type Dispatcher } from 'undici';

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
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly reason: ForwardFailure };

/** Why a forward failed: `timeout`, `refused`, `reset`, `dns`, `status_<code>` or `error`. */
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

export function createForwarder(options: ForwarderOptions): Forwarder {
  const { timeoutMs } = options;
  const owned = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connectionsPerTarget ?? 64,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs },
    });

  return {
    async forward(listenUrl, payload) {
      try {
        const res = await dispatcher.request({
          origin: new URL(listenUrl).origin,
          path: pathOf(listenUrl),
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        // The body must be read for the connection to return to the pool.
        await res.body.dump({ limit: 64 * 1024 });
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        return ok
          ? { ok: true, status: res.statusCode }
          : { ok: false, reason: `status_${res.statusCode}` };
      } catch (err) {
        return { ok: false, reason: failureReason(err) };
      }
    },
    async close() {
      if (owned) await dispatcher.close();
    },
  };
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
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
