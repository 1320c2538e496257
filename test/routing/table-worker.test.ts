/**
 * Routing tables built in the worker thread (dist/table-worker.mjs, which `npm test` builds first)
 * and swapped in whole: what crosses threads matches what an inline build gives, the event loop
 * keeps turning while a large registry is rebuilt, utterances during a swap see the old table or
 * the new one, registration answers once its table is live, and a failed build leaves the old
 * table routing.
 */
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_MATCH_OPTIONS, type CompiledMatcher } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import {
  buildRoutingTable,
  type RouteTarget,
  type RoutingTable,
} from '../../src/routing/routing-table.js';
import {
  inlineTableBuilder,
  WorkerTableBuilder,
  type WorkerBuildTiming,
} from '../../src/routing/table-builder.js';
import { openStore, type Store } from '../../src/store/store.js';
import { API_KEY, startTestApp } from '../helpers/app.js';
import { startServer } from '../helpers/cli.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const WORKER = new URL('../../dist/table-worker.mjs', import.meta.url);
const MATCH = DEFAULT_MATCH_OPTIONS;

const SYLLABLES = ['ka', 'lo', 'mi', 'ru', 'sen', 'ta', 'vo', 'zel', 'bri', 'dor', 'fa', 'gu'];
/** An invented name per index, unique for every index. */
function inventedName(i: number): string {
  let s = '';
  let n = i;
  do {
    s += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0 || s.length < 6);
  return s;
}

/** `phrases` phrases, 32 per target, in the shapes people write ("hey N", "ok N helper"). */
function generatedRegistry(phrases: number, baseUrl: string): RouteTarget[] {
  const forms = ['hey N', 'ok N helper', 'N', 'hello N', 'hi N please'];
  const targets: RouteTarget[] = [];
  for (let j = 0, t = 0; j < phrases; t++) {
    const list: string[] = [];
    for (let k = 0; k < 32 && j < phrases; k++, j++) {
      list.push(forms[j % forms.length]!.replace('N', inventedName(j + 100)));
    }
    targets.push({ name: `t-${t}`, baseUrl, phrases: list });
  }
  return targets;
}

function seeded(targets: readonly RouteTarget[]): string {
  const dbPath = tempDbPath();
  const store = openStore(dbPath);
  try {
    store.targets.replaceAll(targets, { merge: false });
  } finally {
    store.close();
  }
  return dbPath;
}

interface WorkerApp {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly timings: WorkerBuildTiming[];
  readonly errors: string[];
  text(source: string, text: string): Promise<{ routed_to: string | null; reason: string }>;
  register(name: string, baseUrl: string, phrases: string[]): Promise<number>;
  close(): Promise<void>;
}

/** A real app on a real file whose tables build in the worker (inline builds only where said). */
async function startWorkerApp(
  dbPath: string,
  options: { workerUrl?: URL; workerDbPath?: string; env?: Record<string, string> } = {},
): Promise<WorkerApp> {
  const timings: WorkerBuildTiming[] = [];
  const errors: string[] = [];
  const t = await startTestApp(options.env, {
    dbPath,
    watchIntervalMs: 20,
    tableBuilder: (store: Store) =>
      new WorkerTableBuilder({
        workerUrl: options.workerUrl ?? WORKER,
        dbPath: options.workerDbPath ?? dbPath,
        match: MATCH,
        inline: inlineTableBuilder(() => store.targets.snapshot(), MATCH),
        inlineBelow: 0,
        onBuilt: (timing) => timings.push(timing),
      }),
    // Errors only, collected so a test can see a failed build was reported.
    logger: { level: 'error', stream: { write: (line: string) => errors.push(line) } },
  });
  return {
    app: t.app,
    store: t.store,
    timings,
    errors,
    async text(source, text) {
      const res = await t.request({
        method: 'POST',
        url: '/text',
        payload: { source_id: source, text },
      });
      return res.json();
    },
    async register(name, baseUrl, phrases) {
      const res = await t.request({
        method: 'POST',
        url: '/register',
        payload: { name, base_url: baseUrl, phrases },
      });
      return res.statusCode;
    },
    close: t.close,
  };
}

/** The longest gap between turns of the event loop while it runs, until `stop` is called. */
function loopProbe(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const turn = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop() {
      running = false;
      return longest;
    },
  };
}

/** Polls `probe` (each call one real request) until it returns true, up to a generous bound. */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const decisions = (table: RoutingTable, texts: string[]) =>
  texts.map((text) => {
    const m = table.triggers.find(prepareUtterance(text));
    return m && { target: m.target, phrase: m.phrase, score: m.score, start: m.start };
  });

describe('WorkerTableBuilder', () => {
  it('builds in the worker the same table an inline build gives', async () => {
    const targets = generatedRegistry(3_000, 'http://127.0.0.1:9');
    const dbPath = seeded(targets);
    const timings: WorkerBuildTiming[] = [];
    const builder = new WorkerTableBuilder({
      workerUrl: WORKER,
      dbPath,
      match: MATCH,
      inline: inlineTableBuilder(() => [], MATCH),
      inlineBelow: 0,
      onBuilt: (t) => timings.push(t),
    });
    try {
      const fromWorker = await builder.build();
      const inline = buildRoutingTable(targets, MATCH);
      const texts = [
        ...targets.slice(0, 40).flatMap((t) => t.phrases.slice(0, 3).map((p) => `${p} lights on`)),
        // Near misses: a letter changed, two tokens run together, a token split in two.
        `hey ${inventedName(105).replace(/a/, 'e')} hello`,
        `hello${inventedName(108)} there`,
        `ok ${inventedName(101).slice(0, 3)} ${inventedName(101).slice(3)} helper`,
        'nothing registered here',
      ];
      expect(decisions(fromWorker, texts)).toEqual(decisions(inline, texts));
      expect(fromWorker.triggers.size).toBe(3_000);
      expect(fromWorker.listenUrl('t-3')).toBe('http://127.0.0.1:9/listen');
      expect([...fromWorker.names()]).toHaveLength(targets.length);
      expect(timings).toHaveLength(1);
    } finally {
      await builder.close();
    }
  });
});

describe('a replaced table', () => {
  it('is released at once: its arrays are detached and matching with it throws', () => {
    const table = buildRoutingTable(generatedRegistry(100, 'http://127.0.0.1:9'), MATCH);
    const slots = (table.triggers as CompiledMatcher).toData().trie.slots;
    expect(slots.length).toBeGreaterThan(0);
    table.release();
    expect(slots.length).toBe(0);
    expect(() => table.triggers.find(prepareUtterance('hey there'))).toThrow(/released/);
  });
});

describe('routing tables rebuilt off the event loop', () => {
  it('keeps the event loop turning while a 50 000-phrase registry is rebuilt', async () => {
    const targets = generatedRegistry(50_000, 'http://127.0.0.1:9');
    const w = await startWorkerApp(seeded(targets));
    // Another process (the CLI, a second server) changes the registry.
    const other = openStore(w.store.path);
    let probe;
    try {
      other.targets.upsert({
        name: 'late',
        baseUrl: 'http://127.0.0.1:9',
        phrases: ['hey latecomer'],
      });
      // From here on: the app noticing the write, the build, the swap (the write itself would be
      // in the other process).
      probe = loopProbe();
      await until(
        async () => (await w.text('s', 'hey latecomer hello')).routed_to === 'late',
        'the new table',
      );
    } finally {
      other.close();
    }
    const longest = probe.stop();
    // What the rebuild costs on this machine, on the thread that runs it (measured last, so its
    // garbage is not collected during the probe).
    const started = performance.now();
    buildRoutingTable(targets, MATCH);
    const inlineMs = performance.now() - started;
    // The rebuild ran in the worker, and taking its result in cost the main thread a fraction.
    const built = w.timings.at(-1)!;
    expect(built.phrases).toBe(50_001);
    expect(built.receiveMs).toBeLessThan(inlineMs / 5);
    // An inline rebuild would have stopped the loop for about `inlineMs`.
    expect(longest).toBeLessThan(inlineMs / 2);
  });

  it('routes every utterance during a swap by the old table or the new one, never a mix', async () => {
    const before = await startRecordingTarget();
    const after = await startRecordingTarget();
    try {
      const targets = generatedRegistry(20_000, 'http://127.0.0.1:9');
      const w = await startWorkerApp(
        seeded([...targets, { name: 'nova', baseUrl: before.url, phrases: ['hey nova'] }]),
      );
      const answers: { routed_to: string | null; reason: string }[] = [];
      let moved = false;
      const traffic = (async () => {
        for (let i = 0; !moved || i % 10 !== 0; i++) {
          answers.push(await w.text(`s${i % 10}`, 'hey nova lights'));
        }
      })();
      // The phrase moves from one target to another in one write (as a restore would).
      w.store.targets.replaceAll(
        [...targets, { name: 'nova2', baseUrl: after.url, phrases: ['hey nova'] }],
        { merge: false },
      );
      await until(async () => (await w.text('probe', 'hey nova')).routed_to === 'nova2', 'swap');
      moved = true;
      await traffic;
      const seen = answers.map((a) => a.routed_to);
      expect(seen.at(-1)).toBe('nova2');
      // Each answer is the old table's or the new one's (no unregistered target, no gap), and
      // once the new table answered, the old one never did again.
      expect(answers.every((a) => !a.reason.includes('target_unregistered'))).toBe(true);
      expect(seen.every((t) => t === 'nova' || t === 'nova2')).toBe(true);
      const first = seen.indexOf('nova2');
      expect(seen.slice(first).every((t) => t === 'nova2')).toBe(true);
    } finally {
      await before.close();
      await after.close();
    }
  });

  it('answers POST /register and DELETE only once the change routes', async () => {
    const w = await startWorkerApp(seeded(generatedRegistry(5_000, 'http://127.0.0.1:9')));
    expect(await w.register('fresh', 'http://127.0.0.1:9', ['hey freshly'])).toBe(200);
    // No waiting: the answer came after the table with it was live.
    expect(await w.text('a', 'hey freshly hello')).toMatchObject({ routed_to: 'fresh' });
    const del = await w.app.inject({
      method: 'DELETE',
      url: '/targets/fresh',
      headers: { 'x-api-key': API_KEY },
    });
    expect(del.statusCode).toBe(200);
    expect(await w.text('b', 'hey freshly hello')).toMatchObject({ routed_to: null });
    // Built in the worker: the start-up table and the two changes (or one, if they coalesced).
    expect(w.timings.length).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['a build error (the worker cannot read the registry)', { workerDbPath: '/nonexistent/x.db' }],
    [
      'a worker that crashes',
      { workerUrl: new URL('data:text/javascript,throw new Error("worker crashed")') },
    ],
  ])('keeps the old table routing after %s, and says so', async (_what, options) => {
    const dbPath = seeded([{ name: 'old', baseUrl: 'http://127.0.0.1:9', phrases: ['hey oldie'] }]);
    const w = await startWorkerApp(dbPath, options);
    // The first table came from the main thread instead (logged), so the app started.
    expect(w.errors.some((l) => l.includes('building it on the main thread'))).toBe(true);
    const res = await w.app.inject({
      method: 'POST',
      url: '/register',
      headers: { 'x-api-key': API_KEY },
      payload: { name: 'new', base_url: 'http://127.0.0.1:9', phrases: ['hey newbie'] },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ ok: false });
    expect(res.json().error).toMatch(/saved, but the routing table could not be rebuilt/);
    expect(w.errors.some((l) => l.includes('the previous table keeps routing'))).toBe(true);
    expect(await w.text('a', 'hey oldie hello')).toMatchObject({ routed_to: 'old' });
    expect(await w.text('b', 'hey newbie hello')).toMatchObject({ routed_to: null });
  });

  it('echonet serve rebuilds a registry of thousands of phrases in the bundled worker', async () => {
    const target = await startRecordingTarget();
    // 94 targets × 32 phrases: over the inline threshold (2 000 phrases), so the worker rebuilds
    // (the first table is built on the main thread, before anything routes).
    const dbPath = seeded(generatedRegistry(3_000, target.url));
    const server = await startServer({ ECHONET_DB_PATH: dbPath, ECHONET_API_KEY: API_KEY });
    const post = async (path: string, body: unknown) =>
      (
        await fetch(server.url + path, {
          method: 'POST',
          headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json() as Promise<Record<string, unknown>>;
    try {
      const first = generatedRegistry(3_000, target.url)[7]!.phrases[0]!;
      expect(await post('/text', { source_id: 'a', text: `${first} hello` })).toMatchObject({
        routed_to: 't-7',
        forwarded: true,
      });
      expect(
        await post('/register', { name: 'fresh', base_url: target.url, phrases: ['hey freshly'] }),
      ).toMatchObject({ ok: true });
      expect(await post('/text', { source_id: 'b', text: 'hey freshly hi' })).toMatchObject({
        routed_to: 'fresh',
      });
      // The log line is written as the table is swapped in; the child's stdout may reach us later.
      const builds = () =>
        server
          .output()
          .split('\n')
          .filter((l) => l.includes('routing table built in the worker'))
          .map((l) => (JSON.parse(l) as { phrases: number }).phrases);
      await waitFor(() => builds().length > 0);
      expect(builds()).toEqual([3_001]);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
      await target.close();
    }
  });
});
