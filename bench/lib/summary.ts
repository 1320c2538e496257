/**
 * Headline figures of full runs (`npm run bench`): each run appends its figures to
 * bench/results/runs.jsonl, and the summary shows the last three runs of the same build with
 * their median, the number the README quotes. Ratios (to the ceiling, 1 → 100 000 phrases, p99
 * with and without registrations) are each measured within one run; only the median is taken
 * across runs.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface FigureSpec {
  readonly id: string;
  readonly label: string;
  readonly goal: string;
  readonly show: (v: number) => string;
  /** Absent for figures that are reported, not judged. */
  readonly ok?: (v: number) => boolean;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const times = (v: number) => `${v.toFixed(2)}×`;
const ms = (v: number) => `${v.toFixed(0)} ms`;
const ms1 = (v: number) => `${v.toFixed(1)} ms`;
const mb = (v: number) => `${v.toFixed(0)} MB`;
const change = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;

/** One figure per registry shape: `id` for invented names, `${id}Written` as people write. */
function bothShapes(
  id: string,
  label: string,
  goal: string,
  show: (v: number) => string,
  ok: (v: number) => boolean,
): FigureSpec[] {
  return [
    { id, label: `${label} (invented names)`, goal, show, ok },
    { id: `${id}Written`, label: `${label} (as written)`, goal, show, ok },
  ];
}

export const FIGURES: readonly FigureSpec[] = [
  {
    id: 'wakeShare',
    label: 'wake, c=32: forwarded req/s vs the ceiling',
    goal: '≥ 70%',
    show: pct,
    ok: (v) => v >= 0.7,
  },
  {
    id: 'followShare',
    label: 'follow-ups, c=32: forwarded req/s vs the ceiling',
    goal: '≥ 70%',
    show: pct,
    ok: (v) => v >= 0.7,
  },
  {
    id: 'wakeP99',
    label: 'wake, c=32: p99 vs the ceiling',
    goal: '≤ 2×',
    show: times,
    ok: (v) => v <= 2,
  },
  {
    id: 'followP99',
    label: 'follow-ups, c=32: p99 vs the ceiling',
    goal: '≤ 2×',
    show: times,
    ok: (v) => v <= 2,
  },
  {
    id: 'wakeOverhead',
    label: 'wake, c=1: p50 minus the ceiling p50',
    goal: '< 0.5 ms',
    show: (v) => `${v.toFixed(2)} ms`,
    ok: (v) => v < 0.5,
  },
  {
    id: 'followOverhead',
    label: 'follow-ups, c=1: p50 minus the ceiling p50',
    goal: '< 0.5 ms',
    show: (v) => `${v.toFixed(2)} ms`,
    ok: (v) => v < 0.5,
  },
  {
    id: 'pythonOne',
    label: 'vs the Python service, 1 target (470 req/s), wake, c=32',
    goal: '≥ 30×',
    show: (v) => `${v.toFixed(1)}×`,
    ok: (v) => v >= 30,
  },
  {
    id: 'pythonThousand',
    label: 'vs the Python service, 1 000 targets (177 req/s), c=32',
    goal: '≥ 30×',
    show: (v) => `${v.toFixed(1)}×`,
    ok: (v) => v >= 30,
  },
  {
    id: 'wake100k',
    label: 'wake req/s, 1 → 100 000 phrases (invented names)',
    goal: '≥ −10%',
    show: change,
    ok: (v) => v >= -0.1,
  },
  {
    id: 'follow100k',
    label: 'follow-up req/s, 1 → 100 000 phrases (invented names)',
    goal: '≥ −10%',
    show: change,
    ok: (v) => v >= -0.1,
  },
  {
    id: 'wake100kWritten',
    label: 'wake req/s, 1 → 100 000 phrases (as written)',
    goal: '≥ −10%',
    show: change,
    ok: (v) => v >= -0.1,
  },
  ...bothShapes('rss100k', 'RSS after load, 100 000 phrases', '< 120 MB', mb, (v) => v < 120),
  { id: 'cold1', label: 'cold start, 1 phrase', goal: '< 400 ms', show: ms, ok: (v) => v < 400 },
  ...bothShapes('cold100k', 'cold start, 100 000 phrases', '< 1 000 ms', ms, (v) => v < 1000),
  {
    id: 'loopMax',
    label: '100 registrations under load: longest event-loop delay',
    goal: '< 20 ms',
    show: ms1,
    ok: (v) => v < 20,
  },
  {
    id: 'registerP99',
    label: '100 registrations under load: /text p99 vs without',
    goal: '≤ 2×',
    show: times,
    ok: (v) => v <= 2,
  },
  {
    id: 'registerFailed',
    label: '100 registrations under load: failed registrations and /text answers not forwarded',
    goal: '0',
    show: (v) => String(v),
    ok: (v) => v === 0,
  },
  {
    id: 'failures',
    label: 'answers not forwarded or failed, c ≤ 32 (every round) and POST /register',
    goal: '0',
    show: (v) => String(v),
    ok: (v) => v === 0,
  },
  {
    id: 'busy128',
    label: 'wake, c=128: share not forwarded (target_busy; reported only)',
    goal: '–',
    show: pct,
  },
];

export interface RunRecord {
  readonly at: string;
  /** The build measured: commit, with `+dirty` when src/ or the scripts differ from it. */
  readonly build: string;
  /** The decision log's level when not the default (`full`): `bench/run.ts --event-log`. */
  readonly eventLog?: string;
  readonly figures: Readonly<Record<string, number>>;
}

export function currentBuild(root: string): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    let dirty = false;
    try {
      git('diff', '--quiet', 'HEAD', '--', 'src', 'scripts', 'package.json', 'package-lock.json');
    } catch {
      dirty = true;
    }
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

export function appendRun(file: string, record: RunRecord): void {
  appendFileSync(file, JSON.stringify(record) + '\n');
}

/** The last `n` runs of `build` with the decision log at `eventLog`, in `file`, oldest first. */
export function lastRuns(file: string, build: string, eventLog = 'full', n = 3): RunRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RunRecord)
    .filter((r) => r.build === build && (r.eventLog ?? 'full') === eventLog)
    .slice(-n);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

/**
 * The summary as markdown: one row per figure, a column per run (up to three, oldest first) and
 * their median, judged against the goal. With fewer than three runs the median is left out.
 */
export function renderSummary(runs: readonly RunRecord[]): string {
  const out: string[] = [];
  const full = runs.length >= 3;
  out.push(
    `## Summary: ${full ? 'median of the last three full runs' : `${runs.length} of the three full runs a headline needs`} of build ${runs.at(-1)?.build ?? '?'}` +
      (runs.at(-1)?.eventLog === undefined
        ? ''
        : `, decision log \`${runs.at(-1)?.eventLog}\` (not the default: not a headline)`),
    '',
    `| figure | goal | ${runs.map((r) => r.at.slice(11, 16)).join(' | ')} | median | met |`,
    `| --- | --- | ${runs.map(() => '---:').join(' | ')} | ---: | :---: |`,
  );
  for (const f of FIGURES) {
    const values = runs.map((r) => r.figures[f.id]);
    if (values.every((v) => v === undefined || !Number.isFinite(v))) continue;
    const cells = values.map((v) => (v === undefined || !Number.isFinite(v) ? '–' : f.show(v)));
    const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    const m = full && known.length === runs.length ? median(known) : NaN;
    const met = !Number.isFinite(m) || !f.ok ? '–' : f.ok(m) ? 'yes' : '**no**';
    out.push(
      `| ${f.label} | ${f.goal} | ${cells.join(' | ')} | ${Number.isFinite(m) ? f.show(m) : '–'} | ${met} |`,
    );
  }
  out.push('');
  return out.join('\n');
}
