/**
 * The console's shell: sign-in, the navigation and a hash router (#/targets…), so the server
 * serves one page and a reload keeps the view. Each view is built fresh when it is shown and
 * disposed (timers, the live feed) when it is left.
 */
import './style.css';
import { Api, clearKeys, loadKeys, type Keys } from './api.js';
import { fill, h } from './dom.js';
import { LiveFeed } from './live-feed.js';
import type { View, ViewContext } from './view.js';
import { conversationsView } from './views/conversations.js';
import { decisionsView } from './views/decisions.js';
import { listenView } from './views/listen.js';
import { settingsView } from './views/settings.js';
import { signInView } from './views/signin.js';
import { targetsView } from './views/targets.js';
import { tryItView } from './views/try-it.js';

const ROUTES: Record<string, { label: string; build: (ctx: ViewContext) => View }> = {
  decisions: { label: 'Live decisions', build: decisionsView },
  targets: { label: 'Targets', build: targetsView },
  conversations: { label: 'Conversations', build: conversationsView },
  listen: { label: 'Listen mode', build: listenView },
  settings: { label: 'Settings', build: settingsView },
  try: { label: 'Try it', build: tryItView },
};
const HOME = 'decisions';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;

let current: View | undefined;
let ctx: ViewContext | undefined;

function routeName(): string | undefined {
  const m = /^#\/([a-z]+)$/.exec(location.hash);
  return m && m[1] && m[1] in ROUTES ? m[1] : undefined;
}

function signOut(message?: string): void {
  clearKeys();
  ctx?.feed.close();
  ctx = undefined;
  current?.dispose?.();
  current = undefined;
  nav.hidden = true;
  who.replaceChildren();
  document.title = 'Sign in · Echonet console';
  fill(main, signInView(signedIn, message));
  main.querySelector<HTMLElement>('input')?.focus();
}

function signedIn(keys: Keys): void {
  const api = new Api(keys, (message) =>
    signOut(`Signed out: the API key stopped working (${message}). Sign in again.`),
  );
  ctx = { api, feed: new LiveFeed(api) };
  void ctx.feed.start();
  fill(
    nav,
    h(
      'ul',
      {},
      Object.entries(ROUTES).map(([name, r]) =>
        h('li', {}, h('a', { href: `#/${name}`, 'data-route': name }, r.label)),
      ),
    ),
  );
  nav.hidden = false;
  fill(
    who,
    h('span', { class: 'muted' }, keys.adminKey ? 'Signed in with the admin key' : 'Signed in'),
    h(
      'button',
      { type: 'button', class: 'link', onclick: () => signOut('Signed out.') },
      'Sign out',
    ),
  );
  if (!routeName()) location.hash = `#/${HOME}`;
  show(true);
}

function show(focus: boolean): void {
  if (!ctx) return;
  const name = routeName();
  if (!name) return;
  current?.dispose?.();
  const route = ROUTES[name]!;
  current = route.build(ctx);
  fill(main, current.el);
  document.title = `${current.title} · Echonet console`;
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Keyboard and screen-reader users land on the new view's heading.
  if (focus) main.querySelector<HTMLElement>('h1')?.focus();
}

window.addEventListener('hashchange', () => show(true));

const keys = loadKeys();
if (keys) signedIn(keys);
else signOut();
