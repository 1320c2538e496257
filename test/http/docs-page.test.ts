/**
 * /docs as a user meets it: the bundle (dist/echonet.mjs, built by `npm test`'s pretest), copied
 * with only the files the build puts beside it and the one package it leaves external, so Swagger
 * UI's scripts and styles can only come from the bundle's own folder; then Chromium opens the page
 * without a key and it shows every operation, with no console error, no failed request and no
 * request anywhere else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/browser.js';
import { cleanEnv } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const API_KEY = 'docs-page-key-0123456789abcdef';

let child: ChildProcess | undefined;
let browser: BrowserContext | undefined;
afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

/** dist's files in a folder of their own, with better-sqlite3 (and what it loads) beside them. */
function copiedBundle(): string {
  const dir = tempDir();
  const files = ['echonet.mjs', 'table-worker.mjs', 'event-worker.mjs', 'swagger.mjs'];
  for (const file of [...files, 'swagger-ui.mjs', 'swagger-ui']) {
    cpSync(join(DIST, file), join(dir, file), { recursive: true });
  }
  mkdirSync(join(dir, 'node_modules'));
  for (const pkg of ['better-sqlite3', 'bindings', 'file-uri-to-path']) {
    symlinkSync(join(MODULES, pkg), join(dir, 'node_modules', pkg));
  }
  return dir;
}

async function serve(dir: string): Promise<string> {
  child = spawn(process.execPath, [join(dir, 'echonet.mjs'), 'serve'], {
    cwd: dir,
    env: cleanEnv({
      ECHONET_HOST: '127.0.0.1',
      ECHONET_PORT: '0',
      ECHONET_API_KEY: API_KEY,
      ECHONET_DB_PATH: join(dir, 'echonet.db'),
      ECHONET_DISCOVERY: 'false',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return waitFor(() => /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1], {
    what: `the copied bundle to listen:\n${out}`,
  });
}

describe('/docs from the bundle, in a browser', () => {
  it('shows every documented operation, loading only its own files, without a key', async () => {
    const dir = copiedBundle();
    // The bundle cannot reach the package's copy of Swagger UI from here.
    expect(existsSync(join(dir, 'node_modules', '@fastify'))).toBe(false);
    const url = await serve(dir);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary: string }>>;
    };
    const summaries = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((op) => op.summary),
    );

    // A fresh profile in a temp folder.
    browser = await chromium.launchPersistentContext(tempDir(), {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: CHROMIUM_FLAGS,
    });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('data:')) {
        problems.push(`elsewhere: ${r.url()}`);
      }
    });

    await page.goto(`${url}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    const shown = await page.locator('.opblock-summary-description').allTextContents();
    expect(shown.sort()).toEqual([...summaries].sort());
    await expect(page.locator('.title').first().textContent()).resolves.toContain('Echonet');
    // The security schemes are offered in the Authorize dialog.
    await page.locator('button.authorize').click();
    await page.locator('.auth-container').first().waitFor();
    const schemes = await page.locator('.auth-container h4').allTextContents();
    expect(schemes.join(' ')).toMatch(/ApiKey.*AdminKey.*ApiKeyQuery/s);
    await page.keyboard.press('Escape');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'docs.png') });
    expect(problems).toEqual([]);
  }, 120_000);
});
