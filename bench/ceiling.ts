/**
 * The ceiling Echonet is measured against: a minimal Node http server that parses the same JSON
 * body and forwards it to the same stub target the way Echonet's forwarder does, with no routing,
 * validation or storage. Anything Echonet costs beyond this is its own. Usage: ceiling.ts <listen
 * URL>. Prints `READY <port>` when listening.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import Agent from 'undici/lib/dispatcher/agent.js';
import { SETTINGS } from '../src/config.js';

const listenUrl = process.argv[2];
if (listenUrl === undefined) throw new Error('usage: ceiling.ts <target listen URL>');
const { origin, pathname } = new URL(listenUrl);

// The pool Echonet's forwarder builds (src/delivery/forwarder.ts, created in src/app.ts) when run
// as the bench runs it: connections per origin = ECHONET_TARGET_MAX_INFLIGHT's default, the same
// keep-alive, undici's default pipelining (1), and the same file of undici. The ratio then
// compares the work done per request, not two pool sizes or two undici APIs.
const dispatcher = new Agent({
  connections: SETTINGS.targetMaxInflight.fallback,
  keepAliveTimeout: 30_000,
  connect: { timeout: Math.round(SETTINGS.httpTimeoutS.fallback * 1000) },
});
const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
});
const FORWARDED = Buffer.from('{"forwarded":true}');
const NOT_FORWARDED = Buffer.from('{"forwarded":false}');

function answer(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/**
 * Reads the target's answer through undici's dispatch handler, as Echonet's forwarder does
 * (`request()` would add a stream, an async resource and promise chains per forward), and answers
 * once the body has ended. Like Echonet, a failed forward is answered 200 with `forwarded: false`,
 * so the load generator counts it as a failure the same way for both.
 */
class Relay implements Dispatcher.DispatchHandler {
  #status = 0;
  readonly #res: ServerResponse;
  constructor(res: ServerResponse) {
    this.#res = res;
  }
  // undici tells the new handler interface from the legacy one by this method.
  onRequestStart(): void {}
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }
  onResponseData(): void {}
  onResponseEnd(): void {
    answer(this.#res, this.#status >= 200 && this.#status < 300 ? FORWARDED : NOT_FORWARDED);
  }
  onResponseError(): void {
    answer(this.#res, NOT_FORWARDED);
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    dispatcher.dispatch(
      {
        origin,
        path: pathname,
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify(body),
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      new Relay(res),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`READY ${address.port}\n`);
});
process.on('SIGTERM', () =>
  server.close(() => void dispatcher.close().then(() => process.exit(0))),
);
