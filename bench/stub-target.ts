/**
 * The benchmark's target: a separate process answering every POST /listen with 200 once it has
 * read the body, as fast as Node's http module allows. Prints `READY <port>` when listening.
 */
import { createServer } from 'node:http';

const OK = Buffer.from('{"ok":true}');

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(req.url === '/listen' ? 200 : 404, {
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
