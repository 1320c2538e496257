/**
 * The load generator, run as its own process so it does not share an event loop with anything it
 * measures. Drives autocannon at a fixed concurrency: a warm-up, then the measured run. Latencies
 * come from autocannon's per-response timings (float milliseconds) rather than its integer-ms
 * histogram, so sub-millisecond differences stay visible.
 *
 * A success is an answer that did what the workload asks (bench/lib/workload.ts `succeeded`): for
 * /text, `forwarded: true`. A 200 with `forwarded: false` (`target_busy`, a failed forward) is a
 * failure in every figure: not in req/s, not in the latencies.
 *
 * Usage: load.ts '<LoadSpec JSON>'; prints one LoadResult JSON line. With `untilStopped`, prints
 * `RUNNING` once the measured run has started and ends it on SIGUSR2.
 */
import autocannon from 'autocannon';
import { body, pathOf, succeeded, type BodySpec } from './lib/workload.js';

export interface LoadSpec extends BodySpec {
  readonly url: string;
  readonly apiKey: string;
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
  /** Run the measured part until SIGUSR2 (at most `durationS`) instead of for `durationS`. */
  readonly untilStopped?: boolean;
}

export interface LoadResult {
  /** Successful answers in the measured run. */
  readonly requests: number;
  /** Answers in the warm-up and the measured run together, failures included. */
  readonly allRequests: number;
  /** Successful answers in the warm-up and the measured run together. */
  readonly allSucceeded: number;
  /** Successful answers per second. */
  readonly rps: number;
  /** Latencies of the successful answers, ms. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Everything that was not a success: the three kinds below together. */
  readonly failures: number;
  /** 2xx answers that did not do the work (`forwarded: false`, `ok: false`). */
  readonly notForwarded: number;
  /** Answers that were not 2xx. */
  readonly badStatus: number;
  /** Socket errors and timeouts. */
  readonly errors: number;
  /** Length of the measured run, seconds. */
  readonly seconds: number;
}

function run(spec: LoadSpec, durationS: number, onStart?: (stop: () => void) => void) {
  let i = 0;
  const latencies: number[] = [];
  let notForwarded = 0;
  let badStatus = 0;
  // Set by onResponse (which sees the body) and read by the 'response' event (which has the
  // timing); autocannon calls the two back to back for the same answer.
  let lastOk = false;
  return new Promise<LoadResult>((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        duration: durationS,
        timeout: 10,
        headers: { 'content-type': 'application/json', 'x-api-key': spec.apiKey },
        requests: [
          {
            method: 'POST',
            path: pathOf(spec.workload),
            setupRequest: (req) => ({ ...req, body: body(spec, i++) }),
            onResponse: (status, responseBody) => {
              lastOk = succeeded(spec.workload, status, responseBody);
              if (lastOk) return;
              if (status >= 200 && status < 300) notForwarded++;
              else badStatus++;
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const seconds = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        const at = (q: number) =>
          latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
        const errors = result.errors + result.timeouts;
        resolve({
          requests: latencies.length,
          allRequests: latencies.length + notForwarded + badStatus,
          allSucceeded: latencies.length,
          rps: latencies.length / seconds,
          p50: at(0.5),
          p90: at(0.9),
          p99: at(0.99),
          failures: notForwarded + badStatus + errors,
          notForwarded,
          badStatus,
          errors,
          seconds,
        });
      },
    );
    instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
      if (lastOk) latencies.push(responseTime);
      lastOk = false;
    });
    onStart?.(() => instance.stop());
  });
}

const arg = process.argv[2];
if (arg === undefined) throw new Error("usage: load.ts '<LoadSpec JSON>'");
const spec = JSON.parse(arg) as LoadSpec;
const warmup = spec.warmupS > 0 ? await run(spec, spec.warmupS) : undefined;
const result = await run(spec, spec.durationS, (stop) => {
  if (!spec.untilStopped) return;
  process.once('SIGUSR2', stop);
  process.stdout.write('RUNNING\n');
});
process.stdout.write(
  JSON.stringify({
    ...result,
    allRequests: result.allRequests + (warmup?.allRequests ?? 0),
    allSucceeded: result.allSucceeded + (warmup?.allSucceeded ?? 0),
  }) + '\n',
);
