/**
 * Scrapes GET /metrics the way Prometheus does, while a load runs: the full bench scrapes every
 * Echonet under load once a second (fifteen times Prometheus' default interval), so every figure
 * it reports, and every issue-5 target it checks, is measured with the metrics collected and
 * read. What the scrapes took and returned is summed for the report.
 */
import { API_KEY } from './procs.js';

/** Between two scrapes of one server under load. */
export const SCRAPE_INTERVAL_MS = 1_000;

export interface ScrapeStats {
  /** Scrapes answered 200 with Prometheus text. */
  ok: number;
  /** Scrapes that failed (non-200, not Prometheus text, or no answer). */
  failed: number;
  /** Each answered scrape's time, request to last byte, in ms. */
  readonly ms: number[];
  /** The largest body, in bytes, and its number of samples. */
  bytes: number;
  samples: number;
}

export const emptyStats = (): ScrapeStats => ({
  ok: 0,
  failed: 0,
  ms: [],
  bytes: 0,
  samples: 0,
});

/** One scrape, added to `stats`. */
export async function scrapeOnce(url: string, stats: ScrapeStats): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/metrics`, { headers: { 'x-api-key': API_KEY } });
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200 || !text.includes('# TYPE echonet_decisions_total counter')) {
      stats.failed++;
      return;
    }
    stats.ok++;
    stats.ms.push(ms);
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    stats.bytes = Math.max(stats.bytes, Buffer.byteLength(text));
    stats.samples = Math.max(stats.samples, lines.length);
  } catch {
    stats.failed++;
  }
}

/** Scrapes `url` every SCRAPE_INTERVAL_MS until the returned stop is called (and awaited). */
export function scrapeWhile(url: string, stats: ScrapeStats): () => Promise<void> {
  let inFlight: Promise<void> = scrapeOnce(url, stats);
  const timer = setInterval(() => {
    // One at a time, as Prometheus does for one target.
    inFlight = inFlight.then(() => scrapeOnce(url, stats));
  }, SCRAPE_INTERVAL_MS);
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}
