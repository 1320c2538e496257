/**
 * A running server and a writer that is not Echonet (the Python service, the sqlite3 shell) on one
 * file: when the server notices the commit it re-indexes the changed targets and routes by them,
 * without waiting for the next registration.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { register, startTestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';

describe('a foreign writer on the same file', () => {
  it('has its change re-indexed and routed by the running server', async () => {
    const t = await startTestApp();
    try {
      await register(t, 'astraea', 'http://127.0.0.1:9', ['hey astraea']);
      // What the Python service's upsert does: an in-place update of the targets row.
      const foreign = new Database(t.config.dbPath);
      foreign
        .prepare('UPDATE targets SET phrases = ? WHERE name = ?')
        .run(JSON.stringify(['hello starlight']), 'astraea');
      const reader = new Database(t.config.dbPath, { readonly: true });
      try {
        await waitFor(
          () => {
            const stale = reader
              .prepare('SELECT COUNT(*) FROM echonet_phrases_stale')
              .pluck()
              .get();
            const norms = reader
              .prepare("SELECT norm FROM echonet_phrases WHERE target = 'astraea' ORDER BY norm")
              .pluck()
              .all();
            // Its new phrase, and its name (names are indexed like phrases).
            return stale === 0 && norms.join('|') === 'astraea|hello starlight';
          },
          { what: 'the phrase index to follow the foreign write' },
        );
        await waitFor(
          async () => {
            const res = await t.request({
              method: 'POST',
              url: '/route/preview',
              payload: { text: 'hello starlight are you there' },
            });
            return res.json<{ routed_to: string | null }>().routed_to === 'astraea';
          },
          { what: 'the routing table to follow the foreign write' },
        );
      } finally {
        reader.close();
        foreign.close();
      }
      // The old phrase is free again: another target may take it.
      await register(t, 'echobell', 'http://127.0.0.1:9', ['hey astraea']);
      expect((await t.request({ method: 'GET', url: '/targets' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
