/**
 * Precision and recall of wake-phrase matching over the hand-written corpus, in two parts:
 * test/fixtures/utterances.jsonl, the tuning set (DEFAULT_MATCH_OPTIONS.minScore and the match rules
 * were tuned on it), and test/fixtures/utterances.heldout.jsonl, written before it was ever
 * measured and never tuned on, so its figures say how the rules do on transcripts they were not
 * fitted to. Each line is a transcript, the target the speaker meant to wake (or null) and a tag
 * naming the rule it exercises; `matched` pins the span that would be stripped. Lines with
 * `"matcher": "cancel"` test the cancel rule instead: they are routed whole (router.ts `decide`)
 * inside a conversation with astraea, and `expect` is "cancel" when the utterance must end it
 * (`reason`, when given, says how: `cancel` or `cancel_trailing`), else the target it must reach
 * ("Hey Echo, cancel my order" reaches echobell, "stop the music" continues with astraea). Lines
 * starting with # are comments.
 *
 * Wake and cancel phrases are scored apart: cancel phrases are matched exactly
 * (src/matching/cancel-phrases.ts), so a misheard cancel is a miss by design, and folding it into
 * one recall figure would hide either that or the wake matcher's own misses.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileMatcher, DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { compileCancelPhrases } from '../../src/matching/cancel-phrases.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { decide as route } from '../../src/routing/router.js';

/**
 * The household the corpus assumes: greeting + name phrases, bare names (short and long), a
 * two-word name, a long name (two edits of reach), a phrase written with a number word, and names
 * with common sound-alike spellings (Catherine/Kathryn, Stephen/Steven, John/Jon…).
 */
const REGISTRY: Readonly<Record<string, readonly string[]>> = {
  astraea: ['hey astraea', 'hello astraea'],
  echobell: ['hey echo', 'hello echo bell'],
  peter: ['peter'],
  doorman: ['hey doorman'],
  nova: ['ok nova', 'hey nova'],
  jarvis: ['hey jarvis'],
  penelope: ['penelope'],
  alexander: ['hey alexander'],
  starlight: ['hey starlight'],
  agent7: ['agent seven'],
  marigold: ['good morning marigold'],
  catherine: ['hey catherine'],
  stephen: ['hey stephen'],
  john: ['hey john'],
  shaun: ['hey shaun'],
  kristin: ['hey kristin'],
  aaron: ['hey aaron'],
  zoey: ['hey zoey'],
  philip: ['hey philip'],
};

const CANCEL_PHRASES = [
  'cancel',
  'stop',
  'stop listening',
  'never mind',
  "that's all",
  'forget it',
];

interface Case {
  readonly text: string;
  readonly expect: string | null;
  readonly tag: string;
  readonly matched?: string;
  readonly matcher?: 'cancel';
  readonly reason?: 'cancel' | 'cancel_trailing';
}

function load(file: string): Case[] {
  return readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => JSON.parse(line) as Case);
}

const tuning = load('utterances.jsonl');
const heldOut = load('utterances.heldout.jsonl');

const trigger = compileMatcher(
  Object.entries(REGISTRY).flatMap(([target, phrases]) =>
    phrases.map((phrase) => ({ phrase, target })),
  ),
  DEFAULT_MATCH_OPTIONS,
);
const cancel = compileCancelPhrases(CANCEL_PHRASES);
/** The conversation every cancel line is said in. */
const SESSION = 'astraea';

/** Where a line went: a wake line's match, a cancel line's whole decision as a match-like row. */
function decide(c: Case): { target: string; matchedText: string; score: number } | null {
  if (c.matcher !== 'cancel') return trigger.find(prepareUtterance(c.text));
  const d = route(prepareUtterance(c.text), SESSION, {
    triggers: trigger,
    cancel,
    stripTrigger: true,
  });
  if (d.reason === 'cancel' || d.reason === 'cancel_trailing')
    return { target: 'cancel', matchedText: d.reason, score: 1 };
  return d.target === null ? null : { target: d.target, matchedText: d.reason, score: 1 };
}

interface Score {
  readonly cases: number;
  readonly precision: number;
  readonly recall: number;
  readonly wrong: readonly string[];
}

/**
 * Precision and recall of `cases`: a wrong target is both a false wake and a miss. For cancel
 * lines the positive class is "cancel" (`positive`): a request reaching the wrong assistant is
 * listed as wrong but is neither a false cancel nor a missed one.
 */
function score(cases: readonly Case[], positive?: string): Score {
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  const wrong: string[] = [];
  for (const c of cases) {
    const got = decide(c);
    const target = got?.target ?? null;
    const counts = (t: string | null) => t !== null && (positive === undefined || t === positive);
    if (counts(target) && target === c.expect) truePositives++;
    if (counts(target) && target !== c.expect) falsePositives++;
    if (counts(c.expect) && target !== c.expect) falseNegatives++;
    if (target !== c.expect) {
      const how = got ? `${got.target} via "${got.matchedText}" (${got.score.toFixed(3)})` : 'null';
      wrong.push(`[${c.tag}] ${JSON.stringify(c.text)}: expected ${c.expect}, got ${how}`);
    }
  }
  // No predictions at all is vacuously precise; no positives at all is vacuously complete.
  const predicted = truePositives + falsePositives;
  const positives = truePositives + falseNegatives;
  return {
    cases: cases.length,
    precision: predicted === 0 ? 1 : truePositives / predicted,
    recall: positives === 0 ? 1 : truePositives / positives,
    wrong,
  };
}

const isWake = (c: Case) => c.matcher !== 'cancel';
const isCancel = (c: Case) => c.matcher === 'cancel';
/**
 * Cancel lines the rule is scored on. Apart, reported only: misheard cancels (exact-only by design,
 * see the file header) and, in the tuning set, known limits written down with the rule: a trailing
 * cancel with no pause written before it (`cancel-unmarked`) and one followed by more words
 * (`cancel-then-more`), which the rule cannot tell from "where is the bus stop" or "never mind the
 * weather, what's on today".
 */
const APART = new Set(['cancel-misheard', 'cancel-unmarked', 'cancel-then-more']);
const isRuled = (c: Case) => !APART.has(c.tag);

function reportApart(name: string, cases: readonly Case[]): void {
  for (const tag of APART) {
    const some = cases.filter((c) => c.tag === tag);
    if (some.length > 0) report(`cancel, ${name}, ${tag} (reported only)`, score(some, 'cancel'));
  }
}

/** Cancel lines that name a reason and cancelled with the other one (or did not cancel). */
function reasonsWrong(cases: readonly Case[]): string[] {
  const wrong: string[] = [];
  for (const c of cases) {
    if (c.reason === undefined || !isRuled(c)) continue;
    const got = decide(c)?.matchedText;
    if (got !== c.reason) wrong.push(`${JSON.stringify(c.text)}: expected ${c.reason}, got ${got}`);
  }
  return wrong;
}

function report(name: string, s: Score): Score {
  console.log(
    `${name}: ${s.cases} cases, precision ${s.precision.toFixed(4)}, recall ${s.recall.toFixed(4)}` +
      (s.wrong.length ? `\n  ${s.wrong.join('\n  ')}` : ''),
  );
  return s;
}

describe('utterance corpus', () => {
  it('has at least 300 tuning and 100 held-out cases, every expected target registered', () => {
    expect(tuning.length).toBeGreaterThanOrEqual(300);
    expect(heldOut.length).toBeGreaterThanOrEqual(100);
    const known = new Set([...Object.keys(REGISTRY), 'cancel']);
    for (const c of [...tuning, ...heldOut])
      if (c.expect !== null) expect(known).toContain(c.expect);
  });

  it('held-out transcripts are not copies of tuning ones', () => {
    const seen = new Set(tuning.map((c) => c.text.toLowerCase()));
    for (const c of heldOut) expect(seen.has(c.text.toLowerCase()), c.text).toBe(false);
  });

  it('wake phrases, tuning set: precision ≥ 0.99 and recall ≥ 0.95', () => {
    const s = report('wake, tuning', score(tuning.filter(isWake)));
    expect(s.precision).toBeGreaterThanOrEqual(0.99);
    expect(s.recall).toBeGreaterThanOrEqual(0.95);
  });

  // Floors written with the held-out file, before it was first measured (issue 11).
  it('wake phrases, held-out set: precision ≥ 0.95 and recall ≥ 0.85', () => {
    const s = report('wake, held-out', score(heldOut.filter(isWake)));
    expect(s.precision).toBeGreaterThanOrEqual(0.95);
    expect(s.recall).toBeGreaterThanOrEqual(0.85);
  });

  // A cancel is what an utterance ends on (issue 13): only a cancel phrase, after an optional wake
  // phrase and fillers (`cancel`), or one that ends what was said (`cancel_trailing`); a cancel
  // phrase starting a request goes to the assistant. The tuning lines were written with the rule.
  it('cancel rule, tuning set: every cancel cancels with its reason, every request reaches its assistant', () => {
    const all = tuning.filter(isCancel);
    report('cancel, tuning', score(all, 'cancel'));
    const ruled = report('cancel, tuning, the rule', score(all.filter(isRuled), 'cancel'));
    reportApart('tuning', all);
    expect(ruled.wrong).toEqual([]);
    expect(reasonsWrong(all)).toEqual([]);
  });

  // Floors written with the held-out lines, before the rule ever saw them (issue 13).
  it('cancel rule, held-out set: precision ≥ 0.95 and recall ≥ 0.8', () => {
    const all = heldOut.filter(isCancel);
    report('cancel, held-out', score(all, 'cancel'));
    const ruled = report(
      'cancel, held-out, said as configured',
      score(all.filter(isRuled), 'cancel'),
    );
    reportApart('held-out', all);
    const reasons = reasonsWrong(all);
    console.log(
      `cancel, held-out: ${reasons.length} wrong reasons${reasons.length ? `\n  ${reasons.join('\n  ')}` : ''}`,
    );
    expect(ruled.precision).toBeGreaterThanOrEqual(0.95);
    expect(ruled.recall).toBeGreaterThanOrEqual(0.8);
  });

  it('strips exactly the pinned span', () => {
    for (const c of [...tuning, ...heldOut].filter((k) => k.matched !== undefined)) {
      const got = trigger.find(prepareUtterance(c.text));
      expect(got?.matchedText, c.text).toBe(c.matched);
      expect(c.text.slice(got!.start, got!.end)).toBe(c.matched);
    }
  });
});
