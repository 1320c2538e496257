/**
 * Conversations: the open sessions, read again every few seconds, with the time left counted
 * down between reads; each can be ended (POST /sessions/{source_id}/end).
 */
import { messageOf } from '../api.js';
import { fill, h, notice } from '../dom.js';
import type { Session } from '../types.js';
import type { View, ViewContext } from '../view.js';

const REFRESH_MS = 3000;

export function conversationsView({ api }: ViewContext): View {
  const list = h('div', { class: 'list' });
  const status = h('div', { class: 'form-status' });
  let sessions: Session[] = [];
  let readAt = performance.now();
  let ends: { cell: HTMLElement; expires: number }[] = [];

  const left = (expires: number) => {
    const s = Math.max(0, Math.round(expires - (performance.now() - readAt) / 1000));
    return s === 0 ? 'ending' : `${s} s`;
  };

  const end = async (s: Session) => {
    try {
      await api.call('POST', `/sessions/${encodeURIComponent(s.source_id)}/end`);
      fill(status, notice('ok', `Ended the conversation of ${s.source_id} with ${s.target}.`));
      await load();
    } catch (err) {
      fill(status, notice('error', `Could not end it: ${messageOf(err)}`));
    }
  };

  const render = () => {
    if (sessions.length === 0) {
      ends = [];
      fill(
        list,
        h(
          'p',
          { class: 'empty' },
          'No conversation is open. One opens when someone says a wake phrase; see what a sentence would do in Try it.',
        ),
      );
      return;
    }
    ends = [];
    const rows = sessions.map((s) => {
      const cell = h('td', { 'data-label': 'Time left', class: 'num' }, left(s.expires_in_s));
      ends.push({ cell, expires: s.expires_in_s });
      return h(
        'tr',
        { 'data-source': s.source_id },
        h('th', { scope: 'row' }, s.source_id),
        h('td', { 'data-label': 'Room' }, s.room ?? '—'),
        h('td', { 'data-label': 'Target' }, s.target),
        cell,
        h(
          'td',
          { class: 'row-actions' },
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: () => void end(s),
              'aria-label': `End the conversation of ${s.source_id}`,
            },
            'End',
          ),
        ),
      );
    });
    fill(
      list,
      h(
        'table',
        { class: 'table stack' },
        h('caption', { class: 'sr-only' }, 'Open conversations'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Source', 'Room', 'Target', 'Time left', 'Actions'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        h('tbody', {}, rows),
      ),
    );
  };

  const load = async () => {
    try {
      const answer = await api.get<{ sessions: Session[] }>('/sessions');
      sessions = answer.sessions;
      readAt = performance.now();
      render();
    } catch (err) {
      fill(list, notice('error', `Could not read the conversations: ${messageOf(err)}`));
    }
  };
  void load();
  const refresh = setInterval(() => void load(), REFRESH_MS);
  const tick = setInterval(() => {
    for (const e of ends) e.cell.textContent = left(e.expires);
  }, 1000);

  const el = h(
    'section',
    {},
    h('h1', { tabindex: -1 }, 'Conversations'),
    h(
      'p',
      { class: 'muted' },
      'Who is talking to which target right now. Follow-ups go to that target until the time runs out.',
    ),
    status,
    list,
  );
  return {
    title: 'Conversations',
    el,
    dispose() {
      clearInterval(refresh);
      clearInterval(tick);
    },
  };
}
