/**
 * The bound ECHONET_HTTP_TIMEOUT_S documents: a forward that cannot finish ends as `timeout` no
 * sooner than the timeout and at most DEADLINE_SLACK_MS after it (plus the event loop's delay,
 * which a generous margin absorbs on a shared machine), against real targets on 127.0.0.1:0 that
 * never answer, dribble a body forever, or accept the connection and never read it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import { DEADLINE_SLACK_MS, DeadlineKeeper } from '../../src/delivery/deadlines.js';
import { createForwarder } from '../../src/delivery/forwarder.js';
import {
  SLOW_KINDS,
  startSlowTarget,
  SAMPLE_PAYLOAD,
  type SlowTarget,
} from '../helpers/slow-targets.js';

/**
 * Long enough that the former keeper (250 ms windows, swept by an unaligned interval) was up to
 * ~500 ms late here, so the margin below tells the two apart.
 */
const TIMEOUT_MS = 6000;
/** Event-loop and scheduling delay on a busy 2-core machine; far above the ~5 ms seen idle. */
const MARGIN_MS = 250;

describe('the forward timeout', () => {
  const targets = new Map<string, SlowTarget>();
  beforeAll(async () => {
    for (const kind of SLOW_KINDS) targets.set(kind, await startSlowTarget(kind));
  });
  afterAll(async () => {
    for (const t of targets.values()) await t.close();
  });

  it('ends every stuck forward as timeout, after the timeout and within the documented slack', async () => {
    // connectionsPerTarget 2 with three forwards per target: the third waits in undici's queue
    // for a connection, and must end on time as well.
    const forwarder = createForwarder({ timeoutMs: TIMEOUT_MS, connectionsPerTarget: 2 });
    try {
      const runs = [...targets].flatMap(([kind, target]) =>
        // Started at different moments, so they fall at different phases of the keeper's windows.
        [0, 1, 2].map(async (i) => {
          await new Promise((r) => setTimeout(r, i * 37));
          const start = performance.now();
          const result = await forwarder.forward(target.url, SAMPLE_PAYLOAD);
          return { kind, result, ms: performance.now() - start };
        }),
      );
      for (const { kind, result, ms } of await Promise.all(runs)) {
        expect({ kind, result }).toEqual({
          kind,
          result: { ok: false, reason: 'timeout', attempts: 1 },
        });
        expect(ms, kind).toBeGreaterThanOrEqual(TIMEOUT_MS);
        expect(ms, kind).toBeLessThanOrEqual(TIMEOUT_MS + DEADLINE_SLACK_MS + MARGIN_MS);
      }
    } finally {
      await forwarder.close();
    }
  });
});

describe('DeadlineKeeper bound', () => {
  it('sets every deadline no sooner than asked and at most DEADLINE_SLACK_MS later', () => {
    const keeper = new DeadlineKeeper();
    // Starts spread over several windows (a busy loop of ~3 windows), at every phase of them.
    const until = performance.now() + 3 * DEADLINE_SLACK_MS;
    let count = 0;
    while (performance.now() < until || count < 100) {
      const ms = 6000 + (count % 7);
      const before = performance.now();
      const d = keeper.start(ms);
      const after = performance.now();
      expect(d.at).toBeGreaterThan(before + ms);
      expect(d.at).toBeLessThanOrEqual(after + ms + DEADLINE_SLACK_MS);
      count++;
    }
  });

  it('keeps deadlines of different lengths in order and fires each no sooner than its time', async () => {
    const keeper = new DeadlineKeeper();
    const long = keeper.start(120);
    const short = keeper.start(30);
    expect(short.at).toBeLessThan(long.at);
    const firedAt = (d: typeof long) =>
      new Promise<number>((resolve) => d.once('abort', () => resolve(performance.now())));
    const [shortAt, longAt] = await Promise.all([firedAt(short), firedAt(long)]);
    expect(shortAt).toBeGreaterThanOrEqual(short.at);
    expect(longAt).toBeGreaterThanOrEqual(long.at);
    expect(keeper.size).toBe(0);
    expect(keeper.ticking).toBe(false);
  });
});

describe('the documented bound', () => {
  it('is the one the keeper keeps, in the setting and in the README', () => {
    const words = `at most ${DEADLINE_SLACK_MS} ms`;
    expect(SETTINGS.httpTimeoutS.description).toContain(words);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme.replace(/\s+/g, ' ')).toContain(
      `ECHONET_HTTP_TIMEOUT_S\` after it started and ${words}`,
    );
  });
});
