/**
 * The ceiling Echonet is measured against: a minimal Node http server that parses the same JSON
 * body and forwards it with undici to the same stub target, with no routing, validation or
 * storage. Anything Echonet costs beyond this is its own. Usage: ceiling.ts <listen URL>.
 * Prints `READY <port>` when listening.
 */
import { createServer } from 'node:http';
import { Agent } from 'undici';

const listenUrl = process.argv[2];
if (listenUrl === undefined) throw new Error('usage: ceiling.ts <target listen URL>');
const { origin, pathname } = new URL(listenUrl);

// The same pool settings as Echonet's forwarder (src/routing/forwarder.ts).
const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
const FORWARDED = Buffer.from('{"forwarded":true}');

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    dispatcher
      .request({
        origin,
        path: pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      .then(async (upstream) => {
        await upstream.body.dump();
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': FORWARDED.length,
        });
        res.end(FORWARDED);
      })
      .catch(() => {
        res.writeHead(502).end();
      });
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
