/**
 * Run as a child process by crash.test.ts: fires POST /register at a server from `concurrency`
 * connections until the server goes away (or `max` are sent). Prints `ack <name>` the moment a
 * registration gets its 200, and a final JSON summary line, so the parent knows exactly which
 * writes were acknowledged even though it kills the server mid-storm.
 *
 * Usage: node --import tsx register-storm.ts <base-url> <api-key> <name-prefix> <concurrency> <max>
 */
import { Pool } from 'undici';
import { stormPhrase } from './lib.js';

const [baseUrl, apiKey, prefix, concurrencyArg, maxArg] = process.argv.slice(2);
if (!baseUrl || !apiKey || !prefix || !concurrencyArg || !maxArg) {
  process.stderr.write('usage: register-storm <base-url> <api-key> <prefix> <concurrency> <max>\n');
  process.exit(2);
}
const concurrency = Number(concurrencyArg);
const max = Number(maxArg);

const pool = new Pool(baseUrl, { connections: concurrency, pipelining: 1 });
let next = 0;
let stopped = false;
const summary = { sent: 0, acked: 0, status5xx: 0, otherStatus: 0, networkErrors: 0 };

async function worker(): Promise<void> {
  while (!stopped && next < max) {
    const name = `${prefix}-${next++}`;
    summary.sent++;
    try {
      const res = await pool.request({
        path: '/register',
        method: 'POST',
        headers: { 'x-api-key': apiKey as string, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          base_url: `http://127.0.0.1:9/${name}`,
          phrases: [stormPhrase(name)],
        }),
      });
      await res.body.dump();
      if (res.statusCode === 200) {
        summary.acked++;
        process.stdout.write(`ack ${name}\n`);
      } else if (res.statusCode >= 500) summary.status5xx++;
      else summary.otherStatus++;
    } catch {
      // The server was killed: stop sending, let the other in-flight requests fail too.
      summary.networkErrors++;
      stopped = true;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
process.stdout.write(`${JSON.stringify(summary)}\n`);
await pool.destroy();
