/**
 * The console's files over HTTP (src/http/console.ts): where they are, with which headers, and
 * that nothing else is served. The browser tests (test/console/) drive the page itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/temp.js';

/** A console build as Vite lays it out: index.html, hashed assets, public files, a manifest. */
function fakeBuild(): string {
  const dir = tempDir('echonet-console-');
  mkdirSync(join(dir, 'assets'));
  mkdirSync(join(dir, '.vite'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Echonet console</title>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(join(dir, 'assets', 'notes.txt'), 'not a type the console serves');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, '.vite', 'manifest.json'), '{}');
  return dir;
}

describe('GET /console/', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { consoleDir: fakeBuild() });
  });

  test('/ and /console redirect to /console/, without a key', async () => {
    for (const [url, status] of [
      ['/', 302],
      ['/console', 301],
    ] as const) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(status);
      expect(res.headers.location).toBe('/console/');
      expect(res.json()).toEqual({ ok: true, location: '/console/' });
    }
  });

  test('the page, without a key, with a CSP that allows only its own files', async () => {
    const res = await t.app.inject({ url: '/console/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<title>Echonet console</title>');
    expect(res.headers['cache-control']).toBe('no-store');
    const csp = String(res.headers['content-security-policy']);
    expect(csp.split('; ')).toEqual(
      expect.arrayContaining([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
      ]),
    );
    expect(csp).not.toMatch(/unsafe|https?:|data:|\*/);
    // The other security headers stay as for every answer.
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  test('hashed assets may be cached; public files are served too', async () => {
    const js = await t.app.inject({ url: '/console/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log(1)');
    const css = await t.app.inject({ url: '/console/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const icon = await t.app.inject({ url: '/console/favicon.svg' });
    expect(icon.headers['content-type']).toBe('image/svg+xml');
  });

  test.each([
    '/console/nope.js',
    '/console/.vite/manifest.json',
    '/console/assets/notes.txt',
    '/console/..%2f..%2fpackage.json',
  ])('%s: only files of the build are served (404)', async (url) => {
    const res = await t.app.inject({ url });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      ok: false,
      error: `Not found: ${decodeURIComponent(url)}`,
      detail: `Not found: ${decodeURIComponent(url)}`,
    });
  });

  test('a dot-dot path never reaches a file outside the build', async () => {
    // The router resolves it to /package.json, which is no route: refused without a key.
    const res = await t.app.inject({ url: '/console/%2e%2e/%2e%2e/package.json' });
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain('"name"');
  });

  test('the API keeps its own CSP and its key', async () => {
    const res = await t.app.inject({ url: '/targets' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });
});

test('an Echonet whose console is not built says how to build it', async () => {
  const t = await startTestApp({}, { consoleDir: tempDir('echonet-no-console-') });
  const res = await t.app.inject({ url: '/console/' });
  expect(res.statusCode).toBe(404);
  expect(res.json().error).toBe(
    'The console is not built: run `npm run build` (or `npm install`) in the Echonet folder',
  );
  expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
});
