/** Time as Echonet sees it; tests pass a manual clock to step through session expiry. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
