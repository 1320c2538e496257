/**
 * Targets that never let a forward finish, on 127.0.0.1:0, for the forward timeout's tests and
 * its lateness script: one that reads the request and never answers, one that dribbles a body a
 * byte at a time forever, and a bare TCP socket that accepts the connection and never reads.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { ForwardPayload } from '../../src/delivery/forwarder.js';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';

export type SlowKind = 'silent' | 'dribble' | 'accept-stall';

export const SLOW_KINDS: readonly SlowKind[] = ['silent', 'dribble', 'accept-stall'];

/** A forward's payload for tests; its content does not matter to the targets that receive it. */
export const SAMPLE_PAYLOAD: ForwardPayload = Object.freeze({
  event_id: 'stuck-target',
  ts: 1_700_000_000,
  source_id: 'kitchen',
  room: null,
  session_id: 'session-1',
  mode: 'triggered',
  text: 'turn on the lights',
  confidence: null,
});

export interface SlowTarget {
  readonly url: string;
  close(): Promise<void>;
}

export async function startSlowTarget(kind: SlowKind, dribbleEveryMs = 20): Promise<SlowTarget> {
  const sockets = new Set<Socket>();
  const server: Server =
    kind === 'accept-stall'
      ? // Accepted by the kernel and by Node, but never read and never answered.
        createNetServer((socket) => socket.pause())
      : createServer((req, res) => {
          req.resume();
          req.on('end', () => {
            if (kind === 'dribble') dribble(res, dribbleEveryMs);
          });
        });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/listen`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 200 whose body keeps coming, one byte at a time, well under the response size cap. */
function dribble(res: ServerResponse, everyMs: number): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  const timer = setInterval(() => res.write('.'), everyMs);
  res.on('close', () => clearInterval(timer));
}
