/**
 * How the routing table follows registry changes (live-table.ts): builds are never run two at a
 * time, changes made during a build cost one more build, waiters are released only by a table that
 * includes their change, and a failed build keeps the old table. The builder here compiles real
 * tables; the test only decides when each build finishes.
 */
import { describe, expect, it } from 'vitest';
import { LiveTable } from '../../src/routing/live-table.js';
import { DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { buildRoutingTable, type RoutingTable } from '../../src/routing/routing-table.js';
import type { TableBuilder } from '../../src/routing/table-builder.js';

/** Builds from `registry` as it is when a build starts; each build finishes when the test says. */
function gatedBuilder(registry: { phrases: string[] }) {
  const gates: { finish(fail?: boolean): void }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  let started = 0;
  const builder: TableBuilder = {
    build() {
      started++;
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      const table = buildRoutingTable(
        [{ name: 'one', baseUrl: 'http://127.0.0.1:9', phrases: [...registry.phrases] }],
        DEFAULT_MATCH_OPTIONS,
      );
      return new Promise<RoutingTable>((resolve, reject) =>
        gates.push({
          finish(fail) {
            running--;
            if (fail) reject(new Error('build failed'));
            else resolve(table);
          },
        }),
      );
    },
    close: async () => {},
  };
  const nextGate = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    return gates.shift()!;
  };
  return { builder, nextGate, stats: () => ({ started, mostAtOnce }) };
}

const routes = (table: RoutingTable, text: string) =>
  table.triggers.find(prepareUtterance(text))?.target ?? null;

describe('LiveTable', () => {
  it('runs one build at a time and folds changes made meanwhile into one more build', async () => {
    const registry = { phrases: ['hey alpha'] };
    const { builder, nextGate, stats } = gatedBuilder(registry);
    const errors: Error[] = [];
    const initial = buildRoutingTable([], DEFAULT_MATCH_OPTIONS);
    const live = new LiveTable(initial, {
      builder,
      onSwap: () => {},
      onError: (e) => errors.push(e),
    });

    live.changed();
    const first = live.current();
    const firstBuild = await nextGate();
    // Three more changes while the first build runs.
    registry.phrases.push('hey beta');
    live.changed();
    const second = live.current();
    registry.phrases.push('hey gamma');
    live.changed();
    live.changed();
    const last = live.current();
    let secondDone = false;
    void second.then(() => (secondDone = true));

    firstBuild.finish();
    await first;
    expect(routes(live.table, 'hey alpha')).toBe('one');
    expect(routes(live.table, 'hey beta')).toBeNull();
    expect(secondDone).toBe(false);

    (await nextGate()).finish();
    await Promise.all([second, last]);
    expect(routes(live.table, 'hey gamma')).toBe('one');
    expect(stats()).toEqual({ started: 2, mostAtOnce: 1 });
    expect(errors).toEqual([]);
    await live.close();
  });

  it('keeps the old table when a build fails, rejects its waiters, and builds again on the next change', async () => {
    const registry = { phrases: ['hey alpha'] };
    const { builder, nextGate } = gatedBuilder(registry);
    const errors: string[] = [];
    const initial = buildRoutingTable(
      [{ name: 'one', baseUrl: 'http://127.0.0.1:9', phrases: ['hey alpha'] }],
      DEFAULT_MATCH_OPTIONS,
    );
    const live = new LiveTable(initial, {
      builder,
      onSwap: () => {},
      onError: (e) => errors.push(e.message),
    });

    registry.phrases.push('hey beta');
    live.changed();
    const waiting = live.current();
    (await nextGate()).finish(true);
    await expect(waiting).rejects.toMatchObject({ code: 'ROUTING_TABLE_STALE' });
    expect(errors).toEqual(['build failed']);
    expect(live.table).toBe(initial);
    expect(routes(live.table, 'hey alpha')).toBe('one');

    live.changed();
    const again = live.current();
    (await nextGate()).finish();
    await again;
    expect(routes(live.table, 'hey beta')).toBe('one');
    // The replaced table was released.
    expect(() => routes(initial, 'hey alpha')).toThrow(/released/);
    await live.close();
  });
});
