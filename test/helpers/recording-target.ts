/**
 * A real assistant stand-in: an HTTP server on 127.0.0.1:0 that records every request it gets
 * and answers as the test tells it to (status, a body of its own, delay, hang, hold until
 * released, reset, redirect).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterFile } from './cleanup.js';
import { GENEROUS_MS } from './wait.js';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export type Behaviour =
  | { kind: 'status'; status: number }
  /** Answers with this body (a reply, end_session, anything), 200 and JSON unless told. */
  | { kind: 'answer'; body: string; status?: number; contentType?: string }
  | { kind: 'delay'; ms: number; status?: number }
  | { kind: 'hang' }
  /** Keeps each request waiting until the test calls release(), then answers 200. */
  | { kind: 'hold' }
  | { kind: 'reset' }
  /** Destroys the connection of the next request without answering, then answers 200. */
  | { kind: 'reset-once' }
  /** Sends a 200 status line and part of the body, then destroys the connection. */
  | { kind: 'reset-mid-body' }
  | { kind: 'endless-body' }
  /** Headers and the start of a body, then nothing more. */
  | { kind: 'stalled-body' }
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string };

export interface RecordingTarget {
  readonly url: string;
  readonly received: Received[];
  behave(b: Behaviour): void;
  /** Answers 200 to every request held so far (see `hold`). */
  release(): void;
  /** Resolves when `n` requests have arrived in total. */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startRecordingTarget(): Promise<RecordingTarget> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const waiters: (() => void)[] = [];
  const held: ServerResponse[] = [];
  let behaviour: Behaviour = { kind: 'status', status: 200 };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw === '' ? null : JSON.parse(raw);
      } catch {
        // Keep the raw text: the test will see what was sent.
      }
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      for (const w of waiters.splice(0)) w();
      const current = behaviour;
      if (current.kind === 'reset-once') behaviour = { kind: 'status', status: 200 };
      if (current.kind === 'hold') held.push(res);
      else respond(res, current);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    behave(b) {
      behaviour = b;
    },
    release() {
      for (const res of held.splice(0))
        if (!res.destroyed) respond(res, { kind: 'status', status: 200 });
    },
    async waitFor(n, timeoutMs = GENEROUS_MS) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline)
          throw new Error(`target got ${received.length} requests, expected ${n}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return received;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function respond(res: ServerResponse, b: Behaviour): void {
  switch (b.kind) {
    case 'status':
      res.writeHead(b.status, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    case 'answer':
      res
        .writeHead(b.status ?? 200, { 'content-type': b.contentType ?? 'application/json' })
        .end(b.body);
      return;
    case 'delay':
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(b.status ?? 200).end('{"ok":true}');
      }, b.ms);
      return;
    case 'hang':
    case 'hold':
      return;
    case 'redirect':
      res.writeHead(b.status, { location: b.location }).end();
      return;
    case 'reset':
    case 'reset-once':
      res.socket?.destroy();
      return;
    case 'reset-mid-body':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    case 'stalled-body':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":');
      return;
    case 'endless-body': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => {
        if (res.destroyed) clearInterval(timer);
        else res.write('.');
      }, 10);
      res.on('close', () => clearInterval(timer));
      return;
    }
  }
}

/** A port on 127.0.0.1 with nothing listening on it: a target that refuses connections. */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A recording target started now (in a test or at the top of a file), closed after the file. */
export async function recordingTarget(): Promise<RecordingTarget> {
  const target = await startRecordingTarget();
  afterFile(() => target.close());
  return target;
}
