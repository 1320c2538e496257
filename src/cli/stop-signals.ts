/**
 * SIGTERM and SIGINT, caught from the moment `serve` begins: a stop that arrives while the
 * database is opened or the socket is bound is then a clean stop, not the default kill.
 */
export interface StopSignals {
  /** The first stop signal received so far, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** Calls `stop` on the first stop signal, at once if one has already arrived. */
  onStop(stop: (signal: NodeJS.Signals) => void): void;
}

export function catchStopSignals(): StopSignals {
  let received: NodeJS.Signals | undefined;
  let stop: ((signal: NodeJS.Signals) => void) | undefined;
  const caught = (signal: NodeJS.Signals) => {
    if (received !== undefined) return;
    received = signal;
    stop?.(signal);
  };
  // once: a second signal of the same kind gets Node's default, so a stuck stop can be forced.
  process.once('SIGTERM', caught);
  process.once('SIGINT', caught);
  return {
    get received() {
      return received;
    },
    onStop(fn) {
      stop = fn;
      if (received !== undefined) fn(received);
    },
  };
}
