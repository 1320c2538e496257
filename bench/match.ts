/**
 * Wake-phrase matcher benchmark (`npm run bench:match`): for 10, 1 000 and 100 000 registered
 * phrases, index build time, memory held by the index (JS heap, typed-array buffers and RSS, after
 * the build and again after the timed runs have filled its caches), and the median/p99 time to prepare and match
 * a 20-word utterance that contains a phrase (hit) and one that does not (miss). Writes
 * bench/results/match.md. Phrases are synthetic names from a seeded generator, so runs compare.
 *
 * Cancel phrases are measured apart (the default ECHONET_CANCEL_PHRASES, matched exactly by
 * `compileCancelPhrases`): recall on utterances that end on one as registered, after a comma, and
 * on ones that mishear it by a letter; how often one said mid-sentence cancels (it should not: that
 * is a request for the assistant) and how often an utterance without one does. Wake recall is the
 * "hits found" column.
 *
 * "Warm" utterances reuse a doorstep vocabulary, as real transcripts do, so the matcher's
 * per-token candidate cache answers most tokens. "Cold" utterances misspell about half their words
 * at random, so nearly every token is new and the full index lookup runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { SETTINGS } from '../src/config.js';
import { compileCancelPhrases } from '../src/matching/cancel-phrases.js';
import { compileMatcher, type PhraseOwner } from '../src/matching/matcher.js';
import { normalizePhrase, prepareUtterance } from '../src/matching/normalize.js';

const SIZES = [10, 1_000, 100_000];
const SAMPLES = 20_000;
const WARMUP = 3_000;

/** mulberry32: small seeded PRNG so every run registers the same phrases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ONSETS = 'b br c ch d dr f g gr h j k kl l m n p pr r s sh st t tr v w z'.split(' ');
const VOWELS = 'a e i o u ae ia io ea ou y'.split(' ');
const CODAS = ['', '', '', 'n', 'r', 'l', 's', 'th', 'x', 'm', 'nd'];
const FORMS = ['hey N', 'hello N', 'ok N', 'N', 'hey N S', 'N assistant', 'hi N', 'good morning N'];

function syntheticPhrases(count: number): PhraseOwner[] {
  const rand = prng(0xec40);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const name = () => {
    let s = '';
    // Most given names have two syllables, some three (Astraea, Penelope).
    const syllables = rand() < 0.7 ? 2 : 3;
    for (let i = 0; i < syllables; i++) s += pick(ONSETS) + pick(VOWELS) + pick(CODAS);
    return s[0]!.toUpperCase() + s.slice(1);
  };
  const seen = new Set<string>();
  const out: PhraseOwner[] = [];
  while (out.length < count) {
    const phrase = pick(FORMS).replace('N', name()).replace('S', name());
    const norm = normalizePhrase(phrase);
    if (seen.has(norm)) continue;
    seen.add(norm);
    out.push({ phrase, target: `target-${out.length % 500}` });
  }
  return out;
}

const FILLER = (
  'hi there sorry to bother you I have a parcel for number twelve could you sign for it please ' +
  'the courier said it was fragile so keep it upright and I will leave the receipt under the mat ' +
  'is anyone home I think the bell is broken again we rang twice already hello neighbour just ' +
  'wanted to let you know your car lights are on and the gate was left open last night we found ' +
  'a cat in our garden grey with white paws does it belong to you the window cleaner is coming ' +
  'on thursday morning can you move the bins round the back before lunch my mum says thank you ' +
  'for the flowers they were lovely the meeting moved to seven tomorrow evening bring the keys'
).split(' ');

/** Twenty words of doorstep speech, the phrase (if any) dropped into the middle. */
function utterance(seed: number, phrase?: string, misspell = 0): string {
  const rand = prng(seed);
  const word = () => {
    const w = FILLER[Math.floor(rand() * FILLER.length)]!;
    if (rand() >= misspell || w.length < 3) return w;
    const at = Math.floor(rand() * w.length);
    return w.slice(0, at) + String.fromCharCode(97 + Math.floor(rand() * 26)) + w.slice(at + 1);
  };
  const words = Array.from({ length: 20 }, word);
  if (phrase) {
    const parts = phrase.split(' ');
    words.splice(8, parts.length, ...parts);
    words.length = 20;
  }
  return words.join(' ') + '.';
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Memory {
  heap: number;
  /** Memory outside the JS heap: typed-array buffers (the index's tables) and the like. */
  external: number;
  buffers: number;
  rss: number;
}

/**
 * JS heap plus typed-array memory (the index keeps its big tables in typed arrays). Array buffers
 * are released after a GC by a background sweeper, so it gets a moment before the reading.
 */
async function memoryUsed(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, buffers: m.arrayBuffers, rss: m.rss };
}

const MB = 2 ** 20;
const delta = (after: Memory, before: Memory): Memory => ({
  heap: (after.heap - before.heap) / MB,
  external: (after.external - before.external) / MB,
  buffers: (after.buffers - before.buffers) / MB,
  rss: (after.rss - before.rss) / MB,
});

type Timing = { median: number; p99: number; found: number };

interface Row {
  size: number;
  buildMs: number;
  /** Held by the matcher right after the build, and after the timed runs (caches full). MB. */
  built: Memory;
  used: Memory;
  warmHit: Timing;
  warmMiss: Timing;
  coldHit: Timing;
  coldMiss: Timing;
}

function timeMatches(find: (text: string) => unknown, texts: readonly string[]): Timing {
  let found = 0;
  for (let i = 0; i < WARMUP; i++) find(texts[i % texts.length]!);
  const samples = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const text = texts[i % texts.length]!;
    const t0 = process.hrtime.bigint();
    const m = find(text);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (m) found++;
  }
  samples.sort();
  return { median: quantile(samples, 0.5), p99: quantile(samples, 0.99), found: found / SAMPLES };
}

async function run(size: number): Promise<Row> {
  const phrases = syntheticPhrases(size);
  const before = await memoryUsed();
  const t0 = process.hrtime.bigint();
  const matcher = compileMatcher(phrases);
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = await memoryUsed();

  const rand = prng(size);
  const pickPhrase = () => phrases[Math.floor(rand() * phrases.length)]!.phrase;
  const find = (text: string) => matcher.find(prepareUtterance(text));
  const warmHits = Array.from({ length: 64 }, (_, i) => utterance(1000 + i, pickPhrase()));
  const warmMisses = Array.from({ length: 64 }, (_, i) => utterance(5000 + i));
  const coldHits = Array.from({ length: SAMPLES }, (_, i) => utterance(1e6 + i, pickPhrase(), 0.5));
  const coldMisses = Array.from({ length: SAMPLES }, (_, i) => utterance(2e6 + i, undefined, 0.5));
  const warmHit = timeMatches(find, warmHits);
  const warmMiss = timeMatches(find, warmMisses);
  const coldHit = timeMatches(find, coldHits);
  const coldMiss = timeMatches(find, coldMisses);
  // The utterances are the bench's, not the matcher's: drop them before reading memory again.
  for (const texts of [warmHits, warmMisses, coldHits, coldMisses]) texts.length = 0;
  const used = await memoryUsed();
  void matcher.size; // keep the matcher alive until its memory has been measured and used
  return {
    size,
    buildMs,
    built: delta(after, before),
    used: delta(used, before),
    warmHit,
    warmMiss,
    coldHit,
    coldMiss,
  };
}

interface CancelRecall {
  phrases: readonly string[];
  said: number;
  misheard: number;
  midSentence: number;
  falseCancels: number;
}

/** One letter of the phrase's longest word changed, as a recogniser mishearing it would. */
function mishear(phrase: string, rand: () => number): string {
  const words = phrase.split(' ');
  const at = words.reduce((best, w, i) => (w.length > words[best]!.length ? i : best), 0);
  const w = words[at]!;
  const i = 1 + Math.floor(rand() * (w.length - 1));
  let c = w[i]!;
  while (c === w[i]) c = String.fromCharCode(97 + Math.floor(rand() * 26));
  words[at] = w.slice(0, i) + c + w.slice(i + 1);
  return words.join(' ');
}

function cancelRecall(): CancelRecall {
  const phrases = SETTINGS.cancelPhrases.fallback;
  const cancel = compileCancelPhrases(phrases);
  const rand = prng(0xca9c);
  const count = 2_000;
  const share = (make: (i: number) => string) => {
    let found = 0;
    for (let i = 0; i < count; i++) if (cancel.find(prepareUtterance(make(i)), null)) found++;
    return found / count;
  };
  const pick = () => phrases[Math.floor(rand() * phrases.length)]!;
  // A cancel is what an utterance ends on (src/matching/cancel-phrases.ts): "…, never mind."
  const ending = (seed: number, phrase: string) => `${utterance(seed).slice(0, -1)}, ${phrase}.`;
  return {
    phrases,
    said: share((i) => ending(3e6 + i, pick())),
    misheard: share((i) => ending(4e6 + i, mishear(pick(), rand))),
    midSentence: share((i) => utterance(6e6 + i, pick())),
    falseCancels: share((i) => utterance(5e6 + i)),
  };
}

const rows: Row[] = [];
for (const size of SIZES) rows.push(await run(size));
const cancels = cancelRecall();
const f = (n: number, digits = 1) => n.toFixed(digits);
const cell = (t: Timing) => `${f(t.median)} / ${f(t.p99)}`;
const gc = (globalThis as { gc?: unknown }).gc !== undefined;
const lines = [
  '# Wake-phrase matcher benchmark',
  '',
  `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ` +
    `${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end of the run. ${SAMPLES} timed calls per cell after ${WARMUP} ` +
    'warm-up calls; each call is `prepareUtterance` + `find` on a 20-word utterance with the ' +
    'default options (fuzzy on). Times are median / p99 in µs.',
  '',
  '- warm: 64 utterances from a doorstep vocabulary, repeated (the per-token candidate cache answers).',
  '- cold: a fresh utterance per call with about half the words misspelled at random, so most ' +
    'tokens miss the cache and go through the full index lookup.',
  `- memory: JS heap and typed-array buffers held by the compiled matcher after the build${gc ? ' (after GC)' : ' (no --expose-gc: approximate)'}; see Memory below.`,
  '',
  '| phrases | build (ms) | heap (MB) | buffers (MB) | warm hit | warm miss | cold hit | cold miss | hits found (warm/cold) | misses matched (warm/cold) |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.size.toLocaleString('en')} | ${f(r.buildMs)} | ${f(r.built.heap)} | ${f(r.built.buffers)} | ` +
      `${cell(r.warmHit)} | ${cell(r.warmMiss)} | ${cell(r.coldHit)} | ${cell(r.coldMiss)} | ` +
      `${f(r.warmHit.found * 100, 0)}% / ${f(r.coldHit.found * 100, 0)}% | ` +
      `${f(r.warmMiss.found * 100, 0)}% / ${f(r.coldMiss.found * 100, 0)}% |`,
  ),
  '',
  'Targets: p99 < 200 µs at 100 000 phrases, at most 2× the 10-phrase time, build < 2 s.',
  '',
];
const small = rows[0]!;
const large = rows[rows.length - 1]!;
const ratio = (pick: (r: Row) => Timing) =>
  `median ${f(pick(large).median / pick(small).median, 2)}×, p99 ${f(pick(large).p99 / pick(small).p99, 2)}×`;
lines.push(
  'Time at 100 000 phrases over time at 10 phrases:',
  '',
  `- warm hit: ${ratio((r) => r.warmHit)}; warm miss: ${ratio((r) => r.warmMiss)}`,
  `- cold hit: ${ratio((r) => r.coldHit)}; cold miss: ${ratio((r) => r.coldMiss)}`,
  '',
  '## Cancel phrases, apart from wake phrases',
  '',
  `The default cancel phrases (${cancels.phrases.map((p) => `"${p}"`).join(', ')}) are matched ` +
    'exactly (`compileCancelPhrases`), 2 000 20-word utterances per row. Wake recall is the ' +
    '"hits found" column above.',
  '',
  '| utterances | cancelled |',
  '|---|---:|',
  `| ending on a cancel phrase as registered, after a comma (recall) | ${f(cancels.said * 100, 1)}% |`,
  `| the same with one letter misheard (recall) | ${f(cancels.misheard * 100, 1)}% |`,
  `| a cancel phrase mid-sentence (a request for the assistant) | ${f(cancels.midSentence * 100, 1)}% |`,
  `| no cancel phrase (false cancels) | ${f(cancels.falseCancels * 100, 1)}% |`,
  '',
  'Exact-only on purpose: a missed cancel inside a conversation is forwarded to the assistant, ' +
    'which can still read it, where a fuzzy cancel would drop a sentence meant for it.',
  '',
  '## Memory',
  '',
  'Growth of `process.memoryUsage()` across `compileMatcher` (GC before each reading), in MB: ' +
    'right after the build, and after the timed runs, when the per-token candidate caches are ' +
    'full. External includes the typed-array buffers. RSS only grows as the allocator maps pages ' +
    'and lags frees (it keeps what the build briefly used: builder and sort buffers), so it is ' +
    'indicative; the sizes run in one process, smallest first, so the first row after use is ' +
    'mostly the process warming up (JIT code, first allocations), not the matcher.',
  '',
  '| phrases | heap | external | (of it buffers) | RSS | heap after use | external after use | RSS after use |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.size.toLocaleString('en')} | ${f(r.built.heap)} | ${f(r.built.external)} | ` +
      `${f(r.built.buffers)} | ${f(r.built.rss)} | ${f(r.used.heap)} | ${f(r.used.external)} | ` +
      `${f(r.used.rss)} |`,
  ),
  '',
);
const report = lines.join('\n');
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/match.md', import.meta.url), report);
console.log(report);
