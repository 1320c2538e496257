/**
 * The console in a real browser (Chromium through playwright-core) against a real Echonet on a
 * socket, with a real target: each view the issue lists, driven as a user would, with a
 * screenshot of each under test-results/console/. Any console error, uncaught exception, failed
 * request or HTTP error the test did not provoke on purpose fails it.
 *
 * The tests run in order and share the app and the page, as one session of someone using it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_KEY, API_KEY } from '../helpers/app.js';
import {
  contrastFailures,
  launchBrowser,
  type TestBrowser,
  type WatchedPage,
} from '../helpers/browser.js';
import { buildConsole } from '../helpers/console-build.js';
import { startListeningApp, type ListeningApp } from '../helpers/listening-app.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';

/** Waits in the page: far above what a loaded 2-core machine needs, only there to end a hang. */
const GENEROUS = { timeout: 15_000 };

let app: ListeningApp;
let target: RecordingTarget;
let browser: TestBrowser;
let w: WatchedPage;

beforeAll(async () => {
  const consoleDir = await buildConsole();
  app = await startListeningApp({ ECHONET_ADMIN_KEY: ADMIN_KEY }, { consoleDir });
  target = await startRecordingTarget();
  target.behave({ kind: 'answer', body: JSON.stringify({ reply: 'It is noon.' }) });
  // Another assistant already owns "hey echo": registering it again is a 409.
  const other = await app.request({
    method: 'POST',
    url: '/register',
    payload: { name: 'echobell', base_url: target.url, phrases: ['hey echo'] },
  });
  expect(other.statusCode).toBe(200);
  // "hey doormat" is a near miss of its phrase (0.857, under the 0.88 default).
  const doorman = await app.request({
    method: 'POST',
    url: '/register',
    payload: { name: 'doorman', base_url: target.url, phrases: ['hey doorman'] },
  });
  expect(doorman.statusCode).toBe(200);
  browser = await launchBrowser();
  w = await browser.open();
}, 120_000);

afterAll(async () => {
  await w?.close();
  await browser?.close();
  await target?.close();
  await app?.close();
});

/** Each test ends with no problem in the page, readable contrast and a screenshot of its view. */
async function viewDone(name: string, page = w) {
  await page.screenshot(name);
  expect(await contrastFailures(page.page)).toEqual([]);
  expect(page.problems()).toEqual([]);
}

async function go(label: string) {
  await w.page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
  await w.page.getByRole('heading', { level: 1, name: label }).waitFor(GENEROUS);
}

describe('the console', { timeout: 90_000 }, () => {
  test('/ redirects to the console, which is served with a CSP that allows only its own files', async () => {
    const response = await w.page.goto(`${app.url}/`);
    expect(w.page.url()).toBe(`${app.url}/console/`);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    await w.page.getByRole('heading', { name: 'Sign in to Echonet' }).waitFor(GENEROUS);
    // Every request the page made went to Echonet itself.
    const others = await w.page.evaluate(
      (origin) =>
        performance
          .getEntriesByType('resource')
          .map((e) => e.name)
          .filter((u) => !u.startsWith(origin)),
      app.url,
    );
    expect(others).toEqual([]);
  });

  test('a wrong key says so; the right keys sign in, kept in session storage only', async () => {
    const { page } = w;
    await page.getByLabel('API key').fill('not-the-key');
    w.expect('/targets', 401);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That API key is not accepted').waitFor(GENEROUS);
    await w.screenshot('sign-in-wrong-key');
    expect(await page.getByLabel('API key').getAttribute('aria-invalid')).toBe('true');

    // Keyboard alone: type, Tab to the next field, Enter to submit.
    await page.getByLabel('API key').fill('');
    await page.getByLabel('API key').pressSequentially(API_KEY);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Live decisions' }).waitFor(GENEROUS);
    // Expressions run in the page (this project's type-check has no DOM library).
    const stored = await page.evaluate(
      '({ session: sessionStorage.length, local: localStorage.length, cookies: document.cookie })',
    );
    expect(stored).toEqual({ session: 1, local: 0, cookies: '' });
    await viewDone('decisions-empty');
  });

  test('registers a target through the form, and a 409 is shown next to the phrases', async () => {
    const { page } = w;
    await go('Targets');
    const row = page.locator('tr[data-target="echobell"]');
    await row.waitFor(GENEROUS);
    await expect.poll(() => row.textContent()).toContain('closed');

    await page.getByLabel('Name').fill('astraea');
    await page.getByLabel('Base URL').fill(target.url);
    await page.getByLabel('Wake phrases').fill('hey astraea\nhello astraea');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText('Registered astraea.').waitFor(GENEROUS);
    await page.locator('tr[data-target="astraea"]').waitFor(GENEROUS);
    expect((await page.locator('tr[data-target="astraea"]').textContent()) ?? '').toContain(
      `${target.url}/listen`,
    );

    await page.getByLabel('Name').fill('zephyr');
    await page.getByLabel('Base URL').fill(target.url);
    await page.getByLabel('Wake phrases').fill('hey echo');
    w.expect('/register', 409);
    await page.getByRole('button', { name: 'Register' }).click();
    const error = page.locator(
      '#' + (await page.getByLabel('Wake phrases').getAttribute('id')) + '-error',
    );
    await error.waitFor({ state: 'visible', ...GENEROUS });
    expect(await error.textContent()).toBe(
      "Phrase 'hey echo' of target 'zephyr' is already registered by target 'echobell'",
    );
    expect(await page.getByLabel('Wake phrases').getAttribute('aria-invalid')).toBe('true');
    await viewDone('targets-409');

    // Edit: the name stays, the phrases change.
    await page.getByRole('button', { name: 'Edit astraea' }).click();
    expect(await page.getByLabel('Name').inputValue()).toBe('astraea');
    expect(await page.getByLabel('Name').getAttribute('readonly')).toBe('');
    expect(await page.getByLabel('Wake phrases').inputValue()).toBe('hey astraea\nhello astraea');
    await page.getByLabel('Wake phrases').fill('hey astraea\nhi astraea');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved astraea.').waitFor(GENEROUS);
    await expect
      .poll(() => page.locator('tr[data-target="astraea"]').textContent())
      .toContain('hey astraea, hi astraea');
    const targets = (await app.request({ url: '/targets' }))
      .json()
      .targets.map((t: { name: string }) => t.name);
    expect(targets.sort()).toEqual(['astraea', 'doorman', 'echobell']);
  });

  test('an utterance sent with the API appears in the live feed at once, and opens its why', async () => {
    const { page } = w;
    await go('Live decisions');
    await page.getByText('Live.', { exact: true }).waitFor(GENEROUS);
    await expect
      .poll(() => page.getByTestId('front-ends').textContent())
      .toBe('HTTP: listeningWyoming: offMQTT: off');
    const pageLoads: string[] = [];
    const onRequest = (r: { url(): string }) => void pageLoads.push(r.url());
    page.on('request', onRequest);

    const sent = performance.now();
    const answer = await app.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'kitchen-mic', room: 'kitchen', text: 'hey astraea what time is it' },
    });
    expect(answer.json()).toMatchObject({ routed_to: 'astraea', forwarded: true });
    const row = page.locator(`tr[data-event="${answer.json().event_id}"]`);
    await row.waitFor(GENEROUS);
    const elapsedMs = performance.now() - sent;
    page.off('request', onRequest);
    // It came over the open stream: the page asked for nothing to show it.
    expect(pageLoads).toEqual([]);
    console.log(
      `live feed: the decision showed ${elapsedMs.toFixed(0)} ms after POST /text was sent`,
    );
    const text = (await row.textContent()) ?? '';
    for (const part of [
      'kitchen-mic',
      'kitchen',
      'session_open',
      'astraea',
      'hey astraea (1.00)',
      'yes',
      'It is noon.',
    ]) {
      expect(text).toContain(part);
    }

    // Keyboard: the row takes focus and Enter opens its why.
    await row.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor(GENEROUS);
    const why = (await dialog.textContent()) ?? '';
    expect(why).toContain('Why: trigger_phrase:hey astraea');
    expect(why).toContain('hey astraea, heard as “hey astraea”, score 1.000 (exact)');
    await viewDone('decisions-why');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', ...GENEROUS });

    // An idle utterance: its why names the near miss and its score.
    const idle = await app.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'hall-mic', text: 'hey doormat open up' },
    });
    const idleRow = page.locator(`tr[data-event="${idle.json().event_id}"]`);
    await idleRow.waitFor(GENEROUS);
    expect(await idleRow.textContent()).toContain('near miss: hey doorman (0.86)');
    const event = (await app.request({ url: `/events/${idle.json().event_id}` })).json().event;
    await idleRow.click();
    await dialog.waitFor(GENEROUS);
    const idleWhy = (await dialog.textContent()) ?? '';
    expect(idleWhy).toContain(`Why: ${event.reason}`);
    expect(event.near_miss).toMatchObject({ phrase: 'hey doorman', target: 'doorman' });
    expect(idleWhy).toContain(
      `hey doorman of doorman, heard as “hey doormat”, score ${event.near_miss.score.toFixed(3)}: below the threshold`,
    );
    await w.screenshot('decisions-why-idle');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached', ...GENEROUS });

    // Filters: by source.
    await page.getByLabel('Source').fill('kitchen');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Source').fill('');
    await page.getByLabel('Target').fill('astraea');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Target').fill('');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);

    // Pause holds new decisions back until Resume.
    await page.getByRole('button', { name: 'Pause' }).click();
    const held = await app.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'office-mic', text: 'just talking here' },
    });
    await page.getByText('Paused: 1 new decision waiting.').waitFor(GENEROUS);
    expect(await page.locator(`tr[data-event="${held.json().event_id}"]`).count()).toBe(0);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator(`tr[data-event="${held.json().event_id}"]`).waitFor(GENEROUS);
    await viewDone('decisions-live');
  });

  test('previews a sentence, with the matched words highlighted', async () => {
    const { page } = w;
    // Keyboard alone: a focused link and Enter; the new view's heading takes the focus.
    await page.getByRole('navigation').getByRole('link', { name: 'Try it', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Try it' }).waitFor(GENEROUS);
    await expect.poll(() => page.evaluate('document.activeElement.textContent')).toBe('Try it');
    await page.getByLabel('Sentence').fill('Well, Hey Astraea! lights on');
    await page.getByRole('button', { name: 'Preview' }).click();
    const sentence = page.getByTestId('highlighted');
    await sentence.waitFor(GENEROUS);
    expect(await sentence.locator('mark').allTextContents()).toEqual(['Hey Astraea']);
    expect(await sentence.textContent()).toBe('Well, Hey Astraea! lights on');
    expect(await page.getByRole('heading', { level: 2 }).first().textContent()).toBe(
      'Goes to astraea',
    );
    await viewDone('try-it');
    // Nothing was routed.
    expect(target.received.filter((r) => JSON.stringify(r.body).includes('lights on'))).toEqual([]);
  });

  test('switches the listen mode and shows it in the history', async () => {
    const { page } = w;
    await go('Listen mode');
    await expect.poll(() => page.getByTestId('current-mode').textContent()).toBe('trigger');
    await page.getByLabel('Mode', { exact: true }).selectOption('active');
    await page.getByLabel('On behalf of target').selectOption('astraea');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.getByText('listen mode is now active').waitFor(GENEROUS);
    await expect
      .poll(() => page.getByTestId('current-mode').textContent())
      .toMatch(/^active to astraea/);
    await page.locator('td', { hasText: 'changed in the console' }).first().waitFor(GENEROUS);
    expect((await app.request({ url: '/state' })).json()).toMatchObject({
      listen_mode: 'active',
      active_target: 'astraea',
    });
    await viewDone('listen-mode');
    // A mode scoped to one source, then the global mode back to trigger.
    await page.getByLabel('Mode', { exact: true }).selectOption('inactive');
    await page.getByLabel('Only for source (optional)').fill('garage-mic');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.getByText("listen mode is now inactive for source 'garage-mic'").waitFor(GENEROUS);
    await expect.poll(() => page.locator('ul.scoped').textContent()).toBe('garage-mic: inactive');
    await page.getByLabel('Mode', { exact: true }).selectOption('trigger');
    await page.getByLabel('Only for source (optional)').fill('');
    await page.getByRole('button', { name: 'Switch' }).click();
    await expect.poll(() => page.getByTestId('current-mode').textContent()).toBe('trigger');
    expect((await app.request({ url: '/state' })).json()).toMatchObject({
      listen_mode: 'trigger',
      sources: [{ source_id: 'garage-mic', listen_mode: 'inactive' }],
    });
  });

  test('edits a setting in place, with the validation message under the value', async () => {
    const { page } = w;
    await go('Settings');
    const row = page.locator('form[data-key="match_min_score"]');
    await row.waitFor(GENEROUS);
    await row.getByLabel('match_min_score', { exact: true }).fill('high');
    w.expect('/config/match_min_score', 400);
    await row.getByRole('button', { name: 'Save' }).click();
    await row.locator('.field-error').waitFor({ state: 'visible', ...GENEROUS });
    expect(await row.locator('.field-error').textContent()).toMatch(
      /^body\.value for match_min_score must be a float/,
    );
    await w.screenshot('settings-invalid');

    await row.getByLabel('match_min_score', { exact: true }).fill('0.9');
    await row.getByRole('button', { name: 'Save' }).click();
    const saved = page.locator('form[data-key="match_min_score"]');
    await saved.getByText('Saved.').waitFor(GENEROUS);
    expect(await saved.textContent()).toContain('set here');
    expect((await app.request({ url: '/config/match_min_score' })).json()).toMatchObject({
      value: '0.9',
      origin: 'api',
    });
    await viewDone('settings');
  });

  test('ends a conversation', async () => {
    const { page } = w;
    await go('Conversations');
    const row = page.locator('tr[data-source="kitchen-mic"]');
    await row.waitFor(GENEROUS);
    expect(await row.textContent()).toContain('astraea');
    expect(await row.textContent()).toMatch(/\d+ s/);
    await w.screenshot('conversations');
    await row.getByRole('button', { name: 'End the conversation of kitchen-mic' }).click();
    await page.getByText('Ended the conversation of kitchen-mic with astraea.').waitFor(GENEROUS);
    await page.getByText('No conversation is open.', { exact: false }).waitFor(GENEROUS);
    const sessions = (await app.request({ url: '/sessions' })).json().sessions;
    expect(sessions.map((s: { source_id: string }) => s.source_id)).not.toContain('kitchen-mic');
    await viewDone('conversations-ended');
  });

  test('deletes the target after a confirmation', async () => {
    const { page } = w;
    await go('Targets');
    const row = page.locator('tr[data-target="astraea"]');
    await row.waitFor(GENEROUS);
    // Its health shows the forward of the live-feed test.
    const health = (await row.locator('dl.health').textContent()) ?? '';
    expect(health).toMatch(/^Breakerclosed.*Last success(?!—).+Last errornone$/);
    // Cancel first: nothing is deleted.
    await row.getByRole('button', { name: 'Delete astraea' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await app.request({ url: '/targets' })).json().targets).toHaveLength(3);

    await row.getByRole('button', { name: 'Delete astraea' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Delete target astraea?');
    await w.screenshot('targets-confirm-delete');
    // The dialog opens on Cancel; Shift+Tab reaches Delete, Enter confirms.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.getByText('Deleted astraea.').waitFor(GENEROUS);
    await row.waitFor({ state: 'detached', ...GENEROUS });
    const names = (await app.request({ url: '/targets' }))
      .json()
      .targets.map((t: { name: string }) => t.name);
    expect(names.sort()).toEqual(['doorman', 'echobell']);
    await viewDone('targets-deleted');
  });

  test('fits a phone screen 390 px wide, every view', async () => {
    const phone = await browser.open({ width: 390, height: 844 });
    try {
      const { page } = phone;
      await page.goto(`${app.url}/console/`);
      await page.getByLabel('API key').fill(API_KEY);
      await page.getByLabel('Admin key (optional)').fill(ADMIN_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      for (const [route, label] of [
        ['decisions', 'Live decisions'],
        ['targets', 'Targets'],
        ['conversations', 'Conversations'],
        ['listen', 'Listen mode'],
        ['settings', 'Settings'],
        ['try', 'Try it'],
      ] as const) {
        await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
        await page.getByRole('heading', { level: 1, name: label }).waitFor(GENEROUS);
        // Let the view's first read land before measuring.
        await page
          .locator('main :is(table, .empty, .card, .setting):visible')
          .first()
          .waitFor(GENEROUS);
        const width = await page.evaluate<number>('document.documentElement.scrollWidth');
        expect(width, `${label} is wider than the screen`).toBeLessThanOrEqual(390);
        await viewDone(`phone-${route}`, phone);
      }
    } finally {
      await phone.close();
    }
  });
});
