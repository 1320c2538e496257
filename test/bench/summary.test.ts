/** The headline summary of full bench runs (bench/lib/summary.ts): the median of three runs. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendRun, lastRuns, renderSummary, type RunRecord } from '../../bench/lib/summary.js';
import { tempDir } from '../helpers/temp.js';

const run = (at: string, build: string, wakeShare: number): RunRecord => ({
  at: `2026-11-30T${at}:00.000Z`,
  build,
  figures: { wakeShare, loopMax: 30 },
});

describe('bench summary', () => {
  it('takes the last three runs of the same build and reports their median', () => {
    const file = join(tempDir(), 'runs.jsonl');
    appendRun(file, run('09:00', 'abc', 0.9));
    appendRun(file, run('09:05', 'def', 0.5));
    appendRun(file, run('09:10', 'def', 0.72));
    appendRun(file, run('09:15', 'def', 0.68));
    appendRun(file, run('09:20', 'def', 0.75));
    const runs = lastRuns(file, 'def');
    expect(runs.map((r) => r.at.slice(11, 16))).toEqual(['09:10', '09:15', '09:20']);
    const md = renderSummary(runs);
    expect(md).toContain('median of the last three full runs of build def');
    expect(md).toMatch(
      /wake, c=32: forwarded req\/s vs the ceiling \| ≥ 70% \| 72\.0% \| 68\.0% \| 75\.0% \| 72\.0% \| yes \|/,
    );
    expect(md).toMatch(
      /longest event-loop delay \| < 20 ms \| 30\.0 ms \| 30\.0 ms \| 30\.0 ms \| 30\.0 ms \| \*\*no\*\* \|/,
    );
  });

  it('gives no median before three runs of the build exist', () => {
    const file = join(tempDir(), 'runs.jsonl');
    appendRun(file, run('09:00', 'abc', 0.9));
    const md = renderSummary(lastRuns(file, 'abc'));
    expect(md).toContain('1 of the three full runs');
    expect(md).toMatch(/\| 90\.0% \| – \| – \|/);
  });

  it('never takes runs with the decision log at another level into the median', () => {
    const file = join(tempDir(), 'runs.jsonl');
    appendRun(file, run('09:00', 'abc', 0.6));
    appendRun(file, { ...run('09:05', 'abc', 0.8), eventLog: 'off' });
    appendRun(file, run('09:10', 'abc', 0.62));
    expect(lastRuns(file, 'abc').map((r) => r.figures.wakeShare)).toEqual([0.6, 0.62]);
    const off = lastRuns(file, 'abc', 'off');
    expect(off.map((r) => r.figures.wakeShare)).toEqual([0.8]);
    expect(renderSummary(off)).toContain('decision log `off` (not the default: not a headline)');
  });
});
