/**
 * The web console (console/, built by Vite into dist/console/): GET / redirects to /console/,
 * /console/ is the page and /console/assets/* its files. The files are public (the page asks for
 * the API key and sends it with each API call, never in a URL but the live feed's); they are read
 * once, on the first request, so the console costs nothing at start-up or on the hot path.
 *
 * Served by hand rather than by @fastify/static: a handful of files, known when the console was
 * built, and nothing that reads files next to a package at run time (the server is one esbuild
 * bundle). Only files in the build are served; nothing in a URL becomes a path.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { errorBody } from './errors.js';
// Types only (erased): `schema.hide`, which keeps these pages out of GET /openapi.json.
import type {} from '@fastify/swagger';

/**
 * Only this origin's own files, no inline script or style, no framing, nothing sent elsewhere.
 * `connect-src 'self'` covers fetch and the EventSource of the live feed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

interface ConsoleFile {
  readonly body: Buffer;
  readonly type: string;
}

export interface ConsoleRoutesOptions {
  /** The built console (holding index.html); default: found next to the running code. */
  readonly dir?: string;
}

/**
 * Where the build is: dist/console/ next to the bundle (dist/echonet.mjs), next to tsc's output
 * (dist/http/), or from the sources (src/http/, tests). A Vite build has `.vite/manifest.json`,
 * which tells it from the sources' console/index.html.
 */
export function defaultConsoleDir(): string | undefined {
  for (const rel of ['./console/', '../console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, '.vite', 'manifest.json'))) return dir;
  }
  return undefined;
}

/** Every file of the build by its URL under /console/ (the manifest itself left out). */
function readBuild(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        if (name !== '.vite') walk(path);
        continue;
      }
      const type = TYPES[extname(name)];
      if (type === undefined) continue;
      files.set(relative(dir, path).split(sep).join('/'), { body: readFileSync(path), type });
    }
  };
  walk(dir);
  return files;
}

export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, opts) => {
  let files: Map<string, ConsoleFile> | undefined;
  const load = () => {
    if (files) return files;
    const dir = opts.dir ?? defaultConsoleDir();
    files = dir === undefined ? new Map() : readBuild(dir);
    return files;
  };

  const send = (reply: FastifyReply, path: string) => {
    const file = load().get(path);
    reply.header('content-security-policy', CONSOLE_CSP);
    if (!file) {
      // JSON like every other refusal: a browser shows the one line, a script can parse it.
      return reply
        .code(404)
        .send(
          errorBody(
            load().has('index.html')
              ? `Not found: /console/${path}`
              : 'The console is not built: run `npm run build` (or `npm install`) in the Echonet folder',
          ),
        );
    }
    // Assets have content hashes in their names: a browser may keep them. The page may not.
    reply.header(
      'cache-control',
      path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-store',
    );
    return reply.type(file.type).send(file.body);
  };

  const page = { config: { public: true }, schema: { hide: true } } as const;
  // With a JSON body, as every answer outside the console's own files has one.
  const redirect = (reply: FastifyReply, status: 301 | 302) =>
    reply.code(status).header('location', '/console/').send({ ok: true, location: '/console/' });
  app.get('/', page, async (_request, reply) => redirect(reply, 302));
  app.get('/console', page, async (_request, reply) => redirect(reply, 301));
  app.get('/console/', page, async (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { '*': string } }>('/console/*', page, async (request, reply) =>
    send(reply, request.params['*']),
  );
};
