/**
 * The bench's Prometheus-like scraper (bench/lib/scrape.ts) against a real listening Echonet: a
 * scrape with the key is counted with its size, one refused (another key) counts as failed, and
 * the HTTP front end reports itself up once it listens.
 */
import { describe, expect, it } from 'vitest';
import { emptyStats, scrapeOnce } from '../../bench/lib/scrape.js';
import { API_KEY as BENCH_KEY } from '../../bench/lib/procs.js';
import { startListeningApp } from '../helpers/listening-app.js';

describe('the bench scraper', () => {
  it('counts answered scrapes with their size, and refused ones as failed', async () => {
    const t = await startListeningApp({ ECHONET_API_KEY: BENCH_KEY });
    const stats = emptyStats();
    await scrapeOnce(t.url, stats);
    await scrapeOnce(t.url, stats);
    expect(stats).toMatchObject({ ok: 2, failed: 0 });
    expect(stats.ms).toHaveLength(2);
    expect(stats.bytes).toBeGreaterThan(1000);
    expect(stats.samples).toBeGreaterThan(20);
    const res = await t.request({ url: '/metrics', headers: { 'x-api-key': BENCH_KEY } });
    expect(res.body).toMatch(/^echonet_front_end_up\{front_end="http"\} 1$/m);
    await t.close();

    const other = await startListeningApp();
    const refused = emptyStats();
    await scrapeOnce(other.url, refused);
    expect(refused).toMatchObject({ ok: 0, failed: 1 });
    await other.close();
  });
});
