/**
 * The benchmark's target: a separate process answering every POST /listen with 200 once it has
 * read the body, as fast as Node's http module allows. GET /received answers how many /listen
 * requests it has read, so the orchestrator can check that every answer counted as forwarded
 * really reached it. Prints `READY <port>` when listening.
 */
import { createServer } from 'node:http';

const OK = Buffer.from('{"ok":true}');
let received = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/received') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received }));
    return;
  }
  req.resume();
  req.on('end', () => {
    const listen = req.url === '/listen';
    if (listen) received++;
    res.writeHead(listen ? 200 : 404, {
      'content-type': 'application/json',
      'content-length': OK.length,
    });
    res.end(OK);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`READY ${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
