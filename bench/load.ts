/**
 * The load generator, run as its own process so it does not share an event loop with anything it
 * measures. Drives autocannon at a fixed concurrency: a warm-up, then the measured run. Latencies
 * come from autocannon's per-response timings (float milliseconds) rather than its integer-ms
 * histogram, so sub-millisecond differences stay visible. Usage: load.ts '<LoadSpec JSON>';
 * prints one LoadResult JSON line.
 */
import autocannon from 'autocannon';
import { body, pathOf, type BodySpec } from './lib/workload.js';

export interface LoadSpec extends BodySpec {
  readonly url: string;
  readonly apiKey: string;
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
}

export interface LoadResult {
  /** Successful responses in the measured run. */
  readonly requests: number;
  /** Responses in the warm-up and the measured run together. */
  readonly allRequests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Responses that were not 2xx, plus socket errors and timeouts. */
  readonly failures: number;
}

function run(spec: LoadSpec, durationS: number): Promise<LoadResult> {
  let i = 0;
  const latencies: number[] = [];
  let failures = 0;
  return new Promise((resolve, reject) => {
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
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const elapsedS = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        const at = (q: number) =>
          latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
        resolve({
          requests: latencies.length,
          allRequests: latencies.length + failures,
          rps: latencies.length / elapsedS,
          p50: at(0.5),
          p90: at(0.9),
          p99: at(0.99),
          failures: failures + result.errors + result.timeouts,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else failures++;
    });
  });
}

const arg = process.argv[2];
if (arg === undefined) throw new Error("usage: load.ts '<LoadSpec JSON>'");
const spec = JSON.parse(arg) as LoadSpec;
const warmup = spec.warmupS > 0 ? (await run(spec, spec.warmupS)).allRequests : 0;
const result = await run(spec, spec.durationS);
process.stdout.write(
  JSON.stringify({ ...result, allRequests: result.allRequests + warmup }) + '\n',
);
