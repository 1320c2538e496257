/**
 * How late a forward settles after ECHONET_HTTP_TIMEOUT_S, measured against real targets that
 * never let it finish (test/helpers/slow-targets.ts). Prints the median and the largest lateness
 * per kind of target. Forwards start at spread-out moments so they fall at every phase of the
 * deadline keeper's windows. The event loop's own delay over the run is printed too: lateness
 * beyond DEADLINE_SLACK_MS is time the process was busy or not scheduled, not the keeper.
 *
 *   npx tsx scripts/forward-timeout-lateness.ts [timeoutMs=6000] [runsPerKind=20]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEADLINE_SLACK_MS } from '../src/delivery/deadlines.js';
import { createForwarder } from '../src/delivery/forwarder.js';
import { SLOW_KINDS, startSlowTarget, SAMPLE_PAYLOAD } from '../test/helpers/slow-targets.js';

const timeoutMs = Number(process.argv[2] ?? 6000);
const runs = Number(process.argv[3] ?? 20);

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const forwarder = createForwarder({ timeoutMs, connectionsPerTarget: runs });
const rows: string[] = [];
const all: number[] = [];
await Promise.all(
  SLOW_KINDS.map(async (kind) => {
    const target = await startSlowTarget(kind);
    const lateness = await Promise.all(
      Array.from({ length: runs }, async (_, i) => {
        // Spread the starts over ~600 ms at irregular steps (37 ms is prime to every window size).
        await new Promise((r) => setTimeout(r, (i * 37) % 600));
        const start = performance.now();
        const result = await forwarder.forward(target.url, SAMPLE_PAYLOAD);
        const late = performance.now() - start - timeoutMs;
        if (result.ok || result.reason !== 'timeout')
          throw new Error(`${kind}: expected a timeout, got ${JSON.stringify(result)}`);
        return late;
      }),
    );
    await target.close();
    all.push(...lateness);
    rows.push(`${kind.padEnd(13)} ${summary(lateness)}`);
  }),
);
await forwarder.close();
loopDelay.disable();
console.log(
  `timeout ${timeoutMs} ms, ${runs} forwards per kind; lateness in ms (documented: at most ${DEADLINE_SLACK_MS} ms plus event-loop delay)`,
);
for (const row of rows.sort()) console.log(row);
console.log(`${'all'.padEnd(13)} ${summary(all)}`);
const ms = (ns: number) => (ns / 1e6).toFixed(1);
console.log(
  `event-loop delay over the run: p50 ${ms(loopDelay.percentile(50))}  p99 ${ms(loopDelay.percentile(99))}  max ${ms(loopDelay.max)}`,
);

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const min = sorted[0]!;
  const max = sorted.at(-1)!;
  return `min ${min.toFixed(1)}  median ${median.toFixed(1)}  max ${max.toFixed(1)}`;
}
