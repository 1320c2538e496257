/**
 * The registrations-under-load scenario (`--scenario register-load`): at 100 000 phrases, /text
 * wake load at concurrency 32 while 100 registrations arrive spread over ~10 s (new targets and
 * re-registrations of existing ones with changed phrases, sent on a fixed schedule whatever the
 * answers take, as many homes registering independently would). Measured inside the Echonet
 * process with a preload (loop-delay.mjs): the event loop's longest delay; from the load
 * generator: the p99 of forwarded /text answers during the registrations against the p99 of the
 * same load without them (the mean of a run just before and one just after).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Target } from '../../src/store/targets.js';
import type { LoadResult } from '../load.js';
import { API_KEY, startEchonet, startLoad, type Echonet } from './procs.js';
import { seedRegistry, syntheticRegistry } from './registry.js';
import { syntheticName } from './workload.js';

export const REGISTRATIONS = 100;
/** Time between two registrations: 100 of them over ~10 s. */
const SPACING_MS = 100;
const PHRASES = 100_000;
const PRELOAD = fileURLToPath(new URL('./loop-delay.mjs', import.meta.url));

export interface LoopDelay {
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface RegisterLoadResult {
  readonly before: LoadResult;
  readonly during: LoadResult;
  readonly after: LoadResult;
  readonly loopBefore: LoopDelay;
  readonly loopDuring: LoopDelay;
  readonly loopAfter: LoopDelay;
  /** Milliseconds each registration took to answer, in the order sent. */
  readonly registerMs: readonly number[];
  /** Registrations that did not answer 200 `ok: true`. */
  readonly registerFailures: number;
  /** From the first registration sent to the last answer, ms. */
  readonly spanMs: number;
}

/** The k-th registration: even k a new target, odd k an existing target with 4 phrases changed. */
export function registration(k: number, seeded: readonly Target[], stubUrl: string): string {
  // Names far past the seeded registry's (syntheticName is a bijection), so nothing conflicts.
  const fresh = (m: number) => `hey ${syntheticName(700_000 + k * 8 + m)}`;
  if (k % 2 === 0) {
    return JSON.stringify({
      name: `bench-new-${k / 2}`,
      base_url: stubUrl,
      phrases: [0, 1, 2, 3].map(fresh),
    });
  }
  // Skip the wake target (the first), which the load is routed to.
  const old = seeded[1 + (((k - 1) / 2) % (seeded.length - 1))]!;
  return JSON.stringify({
    name: old.name,
    base_url: stubUrl,
    phrases: [...[0, 1, 2, 3].map(fresh), ...old.phrases.slice(4)],
  });
}

interface Options {
  readonly work: string;
  readonly stubUrl: string;
  readonly warmupS: number;
  readonly baselineS: number;
  readonly checkWorkload: (echonet: Echonet) => Promise<void>;
  readonly log: (msg: string) => void;
}

export async function runRegisterLoad(options: Options): Promise<RegisterLoadResult> {
  const { work, stubUrl, log } = options;
  const db = join(work, 'register-load.db');
  const seeded = syntheticRegistry(PHRASES, stubUrl);
  seedRegistry(db, seeded);
  const delayFile = join(work, 'loop-delay.json');
  const echonet = await startEchonet({
    dbPath: db,
    nodeArgs: ['--import', PRELOAD],
    env: { BENCH_LOOP_DELAY_FILE: delayFile },
  });
  try {
    await options.checkWorkload(echonet);
    let seq = 0;
    /** Ends the preload's current window and returns what it saw. */
    const loopDelay = async (): Promise<LoopDelay> => {
      seq++;
      process.kill(echonet.pid, 'SIGUSR2');
      const deadline = performance.now() + 30_000;
      for (;;) {
        if (existsSync(delayFile)) {
          const report = JSON.parse(readFileSync(delayFile, 'utf8')) as LoopDelay & {
            seq: number;
          };
          if (report.seq === seq) return report;
        }
        if (performance.now() > deadline) throw new Error('no event-loop report from Echonet');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const spec = {
      url: echonet.url,
      apiKey: API_KEY,
      workload: 'wake' as const,
      stubUrl,
      connections: 32,
      warmupS: options.warmupS,
      // An upper bound only: each phase ends with finish().
      durationS: 600,
    };
    const baseline = async () => {
      const load = await startLoad(spec);
      await loopDelay();
      await new Promise((r) => setTimeout(r, options.baselineS * 1000));
      const result = await load.finish();
      return { result, loop: await loopDelay() };
    };

    const before = await baseline();
    log(
      `register-load, no registrations: p99 ${before.result.p99.toFixed(2)} ms, loop max ${before.loop.maxMs.toFixed(1)} ms`,
    );

    const load = await startLoad(spec);
    await loopDelay();
    const registerMs: number[] = [];
    let registerFailures = 0;
    const t0 = performance.now();
    const sent: Promise<void>[] = [];
    for (let k = 0; k < REGISTRATIONS; k++) {
      const due = t0 + k * SPACING_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sent.push(
        register(echonet.url, registration(k, seeded, stubUrl)).then(
          ({ ok, ms }) => {
            registerMs[k] = ms;
            if (!ok) registerFailures++;
          },
          () => {
            registerFailures++;
          },
        ),
      );
    }
    await Promise.all(sent);
    const spanMs = performance.now() - t0;
    const during = await load.finish();
    const loopDuring = await loopDelay();
    log(
      `register-load, ${REGISTRATIONS} registrations in ${(spanMs / 1000).toFixed(1)} s: p99 ${during.p99.toFixed(2)} ms, loop max ${loopDuring.maxMs.toFixed(1)} ms`,
    );

    const after = await baseline();
    log(
      `register-load, no registrations again: p99 ${after.result.p99.toFixed(2)} ms, loop max ${after.loop.maxMs.toFixed(1)} ms`,
    );
    await checkRegistered(echonet.url, registration(REGISTRATIONS - 2, seeded, stubUrl));
    return {
      before: before.result,
      during,
      after: after.result,
      loopBefore: before.loop,
      loopDuring,
      loopAfter: after.loop,
      registerMs,
      registerFailures,
      spanMs,
    };
  } finally {
    await echonet.stop();
  }
}

async function register(url: string, json: string): Promise<{ ok: boolean; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: json,
  });
  const text = await res.text();
  return { ok: res.status === 200 && text.includes('"ok":true'), ms: performance.now() - t0 };
}

/** The last new target's phrase routes to it once the registrations are done (within 60 s). */
async function checkRegistered(url: string, json: string): Promise<void> {
  const { name, phrases } = JSON.parse(json) as { name: string; phrases: string[] };
  const deadline = performance.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ source_id: 'register-check', text: `${phrases[0]} are you there` }),
    });
    const out = (await res.json()) as { routed_to?: string };
    if (out.routed_to === name) return;
    if (performance.now() > deadline) {
      throw new Error(`registered target ${name} is not routed to: ${JSON.stringify(out)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
