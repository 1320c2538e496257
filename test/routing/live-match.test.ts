/**
 * The match settings are read when a build starts, inline or in the worker thread
 * (dist/table-worker.mjs, which `npm test` builds first), so PUT /config/match_* reaches every
 * table built after it.
 */
import { describe, expect, it } from 'vitest';
import type { MatchOptions } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { inlineTableBuilder, WorkerTableBuilder } from '../../src/routing/table-builder.js';
import { openStore } from '../../src/store/store.js';
import { tempDbPath } from '../helpers/temp.js';

const WORKER = new URL('../../dist/table-worker.mjs', import.meta.url);

describe('live match options', () => {
  it.each([
    ['inline', Infinity],
    ['in the worker', 0],
  ])('a build %s uses the options in effect when it starts', async (_where, inlineBelow) => {
    const dbPath = tempDbPath();
    const store = openStore(dbPath);
    store.targets.upsert({
      name: 'astraea',
      baseUrl: 'http://a.local:1',
      phrases: ['hey astraea'],
    });
    let match: MatchOptions = { fuzzy: true, minScore: 0.88 };
    const builder = new WorkerTableBuilder({
      workerUrl: WORKER,
      dbPath,
      match: () => match,
      inline: inlineTableBuilder(
        () => store.targets.snapshot(),
        () => match,
      ),
      inlineBelow,
    });
    try {
      const misheard = prepareUtterance('hey astray what time is it');
      expect((await builder.build()).triggers.find(misheard)).toBeNull();
      match = { fuzzy: true, minScore: 0.85 };
      expect((await builder.build()).triggers.find(misheard)).toMatchObject({ exact: false });
      match = { fuzzy: false, minScore: 0.85 };
      expect((await builder.build()).triggers.find(misheard)).toBeNull();
    } finally {
      await builder.close();
      store.close();
    }
  });
});
