/**
 * Preloaded into the Echonet process by the benchmark only (`node --import <this file>`; never part
 * of src/): measures how long the event loop was kept from running with
 * perf_hooks.monitorEventLoopDelay. On SIGUSR2 it writes what it saw since the previous signal
 * (max, p99 and mean, in ms) to $BENCH_LOOP_DELAY_FILE as one JSON object, then starts afresh, so
 * the orchestrator can bracket one phase of a run with two signals.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file) {
  // 1 ms sampling: finer than the 20 ms goal, coarse enough to cost nothing measurable.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    const ms = (ns) => ns / 1e6;
    const report = {
      seq: ++seq,
      maxMs: ms(histogram.max),
      p99Ms: ms(histogram.percentile(99)),
      meanMs: ms(histogram.mean),
      samples: histogram.count,
    };
    histogram.reset();
    // Written aside and renamed, so the reader never sees half a report.
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  });
}
