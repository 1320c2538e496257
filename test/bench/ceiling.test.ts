/**
 * The ceiling (bench/ceiling.ts) forwards through a pool of the size Echonet's forwarder uses
 * (ECHONET_TARGET_MAX_INFLIGHT's default connections per origin, no pipelining), so the bench's
 * ratio compares the work per request, not two pool sizes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startCeiling } from '../../bench/lib/procs.js';
import { SETTINGS } from '../../src/config.js';

const POOL = SETTINGS.targetMaxInflight.fallback;
const REQUESTS = POOL + 8;

describe('bench/ceiling.ts', () => {
  const held: ServerResponse[] = [];
  const sockets = new Set<string>();
  let received = 0;
  let releasing = false;
  let onHeld: (() => void) | undefined;
  const target = createServer((req: IncomingMessage, res: ServerResponse) => {
    sockets.add(`${req.socket.remotePort}`);
    req.resume();
    req.on('end', () => {
      received++;
      if (releasing) return void res.end('{}');
      held.push(res);
      if (held.length === POOL) onHeld?.();
    });
  });
  const client = new Agent({ keepAlive: true, maxSockets: REQUESTS });
  afterAll(async () => {
    client.destroy();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  it(`opens at most ${POOL} connections to a target, as Echonet does`, async () => {
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as AddressInfo).port;
    const ceiling = await startCeiling(`http://127.0.0.1:${port}/listen`);
    try {
      const allHeld = new Promise<void>((resolve) => (onHeld = resolve));
      const answers = Array.from(
        { length: REQUESTS },
        () =>
          new Promise<string>((resolve, reject) => {
            const req = request(`${ceiling.url}/text`, { method: 'POST', agent: client }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve(body));
            });
            req.on('error', reject);
            req.end('{"text":"hey astraea"}');
          }),
      );
      // Every pooled connection carries one request the target has not answered yet.
      await allHeld;
      expect(sockets.size).toBe(POOL);
      releasing = true;
      for (const res of held.splice(0)) res.end('{}');
      const bodies = await Promise.all(answers);
      expect(bodies.every((b) => b === '{"forwarded":true}')).toBe(true);
      expect(received).toBe(REQUESTS);
      // The 8 requests over the pool size waited for a connection instead of opening one.
      expect(sockets.size).toBe(POOL);
    } finally {
      await ceiling.stop();
    }
  });
});
