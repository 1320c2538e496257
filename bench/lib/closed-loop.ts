/**
 * A closed-loop load for front ends autocannon cannot speak (Wyoming, MQTT): `connections` workers
 * each send an utterance and wait for its answer before the next, for a warm-up and then a measured
 * run; what each worker counts as a success is its own. Returns bench/load.ts's LoadResult.
 */
import type { LoadResult } from '../load.js';

export interface ClosedLoopSpec {
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
}

/** What a worker is given: whether to stop, and where to count each answer. */
export interface LoopWorker {
  stopped(): boolean;
  /** One answer: a success (forwarded) or not, and how long it took. */
  record(ok: boolean, ms: number): void;
}

export async function closedLoop(
  spec: ClosedLoopSpec,
  worker: (w: LoopWorker) => Promise<void>,
): Promise<LoadResult> {
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  let allRequests = 0;
  let allSucceeded = 0;
  let failures = 0;
  let requests = 0;
  const w: LoopWorker = {
    stopped: () => stop,
    record(ok, ms) {
      allRequests++;
      if (ok) {
        allSucceeded++;
        if (measuring) {
          requests++;
          latencies.push(ms);
        }
      } else if (measuring) {
        failures++;
      }
    },
  };
  const workers = Array.from({ length: spec.connections }, () => worker(w));
  await new Promise((r) => setTimeout(r, spec.warmupS * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, spec.durationS * 1000));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(workers);

  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    requests,
    allRequests,
    allSucceeded,
    rps: requests / seconds,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    failures,
    notForwarded: failures,
    badStatus: 0,
    errors: 0,
    seconds,
  };
}
