/**
 * The load generator (bench/load.ts) against a real server on 127.0.0.1: only answers that were
 * really forwarded are successes; a 200 with `forwarded: false` (target_busy, a failed forward) is
 * a failure in every figure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../bench/lib/procs.js';

/** Answers every POST /text with 200 and the `forwarded` value the test chose. */
let forwarded = true;
let answered = 0;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      answered++;
      const body = forwarded
        ? '{"handled":true,"forwarded":true,"reason":"trigger_phrase:hey astraea"}'
        : '{"handled":true,"forwarded":false,"reason":"target_busy"}';
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const spec = () => ({
  url,
  apiKey: 'k',
  workload: 'wake' as const,
  stubUrl: 'http://127.0.0.1:9',
  connections: 2,
  warmupS: 0,
  durationS: 1,
});

describe('bench/load.ts', () => {
  it('counts 200 answers with forwarded: false as failures, not successes', async () => {
    forwarded = false;
    answered = 0;
    const r = await runLoad(spec());
    expect(answered).toBeGreaterThan(0);
    expect(r.requests).toBe(0);
    expect(r.rps).toBe(0);
    expect(r.notForwarded).toBeGreaterThan(0);
    expect(r.failures).toBe(r.notForwarded + r.badStatus + r.errors);
    expect(r.allRequests).toBeLessThanOrEqual(answered);
  });

  it('counts forwarded answers as successes', async () => {
    forwarded = true;
    const r = await runLoad(spec());
    expect(r.requests).toBeGreaterThan(0);
    expect(r.notForwarded).toBe(0);
    expect(r.badStatus).toBe(0);
    expect(Number.isFinite(r.p99)).toBe(true);
    expect(r.allSucceeded).toBe(r.requests);
  });
});
