/**
 * A real browser for the console's tests: Debian's Chromium driven by playwright-core, headless,
 * with a fresh profile. Every page it opens is watched: a console error, an uncaught exception, a
 * request that fails, or an HTTP error the test did not announce with `expect()` is recorded,
 * and `problems()` lists them (the tests assert it is empty).
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// What the in-page function below uses of the DOM (it runs in the browser; this project's
// type-check has no DOM library). Module-scoped: nothing else sees these.
interface PageElement {
  readonly tagName: string;
  readonly textContent: string | null;
  readonly parentElement: PageElement | null;
  readonly childNodes: Iterable<{ readonly nodeType: number; readonly textContent: string | null }>;
  getBoundingClientRect(): { readonly width: number; readonly height: number };
  closest(selector: string): unknown;
}
declare const document: { querySelectorAll(selector: string): Iterable<PageElement> };
declare function getComputedStyle(el: PageElement): {
  readonly color: string;
  readonly backgroundColor: string;
  readonly visibility: string;
  readonly fontSize: string;
  readonly fontWeight: string;
};

/** The flags issue 15 names: no sandbox (containers, root), nothing that calls home. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where the screenshots go (gitignored). */
export const SCREENSHOTS = join(process.cwd(), 'test-results', 'console');

export interface WatchedPage {
  readonly page: Page;
  /** Announces one HTTP error the test provokes on purpose: `status` from a URL containing `path`. */
  expect(path: string, status: number): void;
  /** What went wrong in the page that no test announced. */
  problems(): string[];
  screenshot(name: string): Promise<void>;
  /** Stops watching (a page being closed aborts its live feed) and closes the page. */
  close(): Promise<void>;
}

export interface TestBrowser {
  open(viewport?: { width: number; height: number }): Promise<WatchedPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'echonet-chromium-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    async open(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      const problems: string[] = [];
      const expected: { path: string; status: number }[] = [];
      let watching = true;
      const announced = (url: string, status: number) => {
        const i = expected.findIndex((e) => e.status === status && url.includes(e.path));
        if (i === -1) return false;
        expected.splice(i, 1);
        return true;
      };
      // Chromium logs each HTTP error as a console error too: that one is allowed when the
      // response itself was announced.
      const allowedLogs: string[] = [];
      page.on('response', (res) => {
        if (!watching || res.status() < 400) return;
        if (announced(res.url(), res.status())) allowedLogs.push(res.url());
        else problems.push(`HTTP ${res.status()} from ${res.url()}`);
      });
      page.on('console', (msg) => {
        if (!watching || msg.type() !== 'error') return;
        const at = allowedLogs.indexOf(msg.location().url);
        if (/^Failed to load resource: the server responded/.test(msg.text()) && at !== -1) {
          allowedLogs.splice(at, 1);
          return;
        }
        problems.push(`console error: ${msg.text()} (${msg.location().url})`);
      });
      page.on('pageerror', (err) => watching && problems.push(`uncaught: ${err.message}`));
      page.on('requestfailed', (req) => {
        if (watching) problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
      });
      return {
        page,
        expect: (path, status) => void expected.push({ path, status }),
        problems: () => [...problems],
        screenshot: async (name) => {
          await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
        },
        async close() {
          watching = false;
          await page.close();
        },
      };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * WCAG AA contrast of every visible text in the page: each element with text of its own, its
 * colour against the first opaque background behind it. Returns the ones below 4.5:1 (3:1 for
 * large text).
 */
export async function contrastFailures(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parse = (c: string) => {
      const m = /rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:,? \/? ?([\d.]+))?\)/.exec(c);
      return m
        ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])]
        : null;
    };
    const lum = ([r, g, b]: number[]) => {
      const ch = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * ch(r!) + 0.7152 * ch(g!) + 0.0722 * ch(b!);
    };
    const background = (el: PageElement | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c[3]! >= 1) return c;
      }
      return [255, 255, 255, 1];
    };
    const failures: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim() !== '');
      if (!own) continue;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      if (style.visibility === 'hidden' || box.width === 0 || box.height === 0) continue;
      if (el.closest('[hidden], .sr-only, .skip')) continue;
      const fg = parse(style.color);
      if (!fg) continue;
      const l1 = lum(fg);
      const l2 = lum(background(el));
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        failures.push(
          `${el.tagName.toLowerCase()} "${el.textContent!.trim().slice(0, 40)}": ${ratio.toFixed(2)}:1`,
        );
      }
    }
    return failures;
  });
}
