/**
 * Live decisions: the console's live feed (live-feed.ts) as a table, newest first. Filters by
 * source and target apply to what is shown; Pause holds new rows back (counted) until Resume. A
 * row opens the whole "why" of its decision in a dialog.
 */
import { fill, h } from '../dom.js';
import { frontEndStatus } from '../front-ends.js';
import type { DecisionEvent } from '../types.js';
import type { View, ViewContext } from '../view.js';

export function decisionsView({ api, feed }: ViewContext): View {
  const frontEnds = frontEndStatus(api);
  /** Held back while paused: shown on Resume. */
  const held = new Set<string>();
  let paused = false;

  const sourceFilter = h('input', {
    id: 'filter-source',
    type: 'search',
    autocomplete: 'off',
    list: 'sources',
  });
  const targetFilter = h('input', {
    id: 'filter-target',
    type: 'search',
    autocomplete: 'off',
    list: 'targets',
  });
  const sources = h('datalist', { id: 'sources' });
  const targets = h('datalist', { id: 'targets' });
  const pause = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
  const feedState = h('p', { class: 'feed-state', role: 'status' }, 'Connecting to the live feed…');
  const body = h('tbody', {});
  const empty = h(
    'p',
    { class: 'empty' },
    'No decision yet. Send an utterance (POST /text, Home Assistant, a microphone) and it appears here as it is routed.',
  );
  const table = h(
    'table',
    { class: 'table stack decisions', hidden: true },
    h(
      'caption',
      { class: 'sr-only' },
      'Decisions, newest first; press Enter on a row for its details',
    ),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'Time',
          'Source',
          'Room',
          'Mode',
          'Target',
          'Phrase (score)',
          'Forwarded',
          'Latency',
          'Reply',
        ].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    body,
  );

  const matches = (e: DecisionEvent) => {
    const s = sourceFilter.value.trim().toLowerCase();
    const t = targetFilter.value.trim().toLowerCase();
    return (
      (s === '' || e.source_id.toLowerCase().includes(s)) &&
      (t === '' || (e.target ?? '').toLowerCase().includes(t))
    );
  };

  const row = (e: DecisionEvent) => {
    const phrase = e.match ?? e.near_miss;
    const tr = h(
      'tr',
      {
        tabindex: 0,
        class: 'clickable',
        'data-event': e.id,
        'aria-label': `${e.source_id}: ${e.text ?? e.reason}. Open the details`,
      },
      h('td', { 'data-label': 'Time' }, new Date(e.received_at).toLocaleTimeString()),
      h('td', { 'data-label': 'Source' }, e.source_id),
      h('td', { 'data-label': 'Room' }, e.room ?? '—'),
      h('td', { 'data-label': 'Mode' }, e.mode),
      h('td', { 'data-label': 'Target' }, e.target ?? '—'),
      h(
        'td',
        { 'data-label': 'Phrase (score)' },
        phrase
          ? `${e.match ? '' : 'near miss: '}${phrase.phrase} (${phrase.score.toFixed(2)})`
          : '—',
      ),
      h(
        'td',
        { 'data-label': 'Forwarded' },
        h(
          'span',
          { class: `badge ${e.forwarded ? 'badge-closed' : 'badge-neutral'}` },
          e.forwarded ? 'yes' : 'no',
        ),
      ),
      h(
        'td',
        { 'data-label': 'Latency', class: 'num' },
        e.latency_ms === null ? '—' : `${Math.round(e.latency_ms)} ms`,
      ),
      h('td', { 'data-label': 'Reply', class: 'reply' }, e.reply ?? '—'),
    );
    const open = () => openWhy(e, tr);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return tr;
  };

  const render = () => {
    const events = feed.events;
    const shown = events.filter((e) => matches(e) && !held.has(e.id));
    table.hidden = shown.length === 0;
    empty.hidden = shown.length !== 0;
    if (events.length !== 0 && shown.length === 0) {
      empty.textContent = 'No decision matches these filters. Clear them to see every one.';
    }
    fill(body, shown.map(row));
    fill(
      sources,
      [...new Set(events.map((e) => e.source_id))].map((v) => h('option', { value: v })),
    );
    fill(
      targets,
      [...new Set(events.flatMap((e) => (e.target ? [e.target] : [])))].map((v) =>
        h('option', { value: v }),
      ),
    );
  };

  const setPaused = (value: boolean) => {
    paused = value;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) held.clear();
    render();
    updateState();
  };
  pause.addEventListener('click', () => setPaused(!paused));
  sourceFilter.addEventListener('input', render);
  targetFilter.addEventListener('input', render);

  const updateState = () => {
    const state = feed.state;
    feedState.textContent =
      feed.error ??
      (state === 'connecting'
        ? 'Connecting to the live feed…'
        : state === 'down'
          ? 'Live feed disconnected; reconnecting…'
          : paused
            ? `Paused: ${held.size} new decision${held.size === 1 ? '' : 's'} waiting.`
            : 'Live.');
    feedState.className = `feed-state ${state === 'live' && !paused ? 'feed-live' : 'feed-off'}`;
  };

  const unsubscribe = feed.subscribe({
    decisions(added) {
      if (paused) {
        for (const e of added) held.add(e.id);
        updateState();
      } else render();
    },
    state: updateState,
  });
  render();
  updateState();

  const el = h(
    'section',
    {},
    h('h1', { tabindex: -1 }, 'Live decisions'),
    h('p', { class: 'muted' }, 'What was heard, where it went and why, as it happens.'),
    frontEnds.el,
    h(
      'div',
      { class: 'toolbar' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-source' }, 'Source'),
        sourceFilter,
        sources,
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-target' }, 'Target'),
        targetFilter,
        targets,
      ),
      pause,
    ),
    feedState,
    empty,
    h('div', { class: 'scroll' }, table),
  );
  return {
    title: 'Live decisions',
    el,
    dispose() {
      unsubscribe();
      frontEnds.dispose();
    },
  };
}

/** Every field of a decision, in a dialog: the "why" of what happened to it. */
function openWhy(e: DecisionEvent, from: HTMLElement): void {
  const close = h('button', { type: 'button' }, 'Close');
  const items: [string, unknown][] = [
    ['Text', e.text ?? '(not logged: metadata only)'],
    ['Reason', e.reason],
    ['Mode', e.mode],
    ['Listen mode', e.listen_mode],
    ['Target', e.target],
    ['Intended target', e['intended_target']],
    [
      'Wake phrase',
      e.match &&
        `${e.match.phrase}, heard as “${e.match.matched_text}”, score ${e.match.score.toFixed(3)}${e.match.exact ? ' (exact)' : ''}`,
    ],
    [
      'Near miss',
      e.near_miss &&
        `${e.near_miss.phrase} of ${e.near_miss.target}, heard as “${e.near_miss.matched_text}”, score ${e.near_miss.score.toFixed(3)}: below the threshold`,
    ],
    ['Forwarded', e.forwarded ? 'yes' : 'no'],
    ['Status', e['status']],
    ['Failure', e['failure']],
    ['Latency', e.latency_ms === null ? null : `${e.latency_ms} ms`],
    ['Reply', e.reply],
    [
      'Session',
      e['session_change'] && `${String(e['session_change'])} (${String(e['session_id'])})`,
    ],
    ['Source', `${e.source_id}${e.room ? ` in ${e.room}` : ''} via ${e.front_end ?? '?'}`],
    ['Confidence', e.confidence],
    ['Conversation id', e['conversation_id']],
    ['Received', new Date(e.received_at).toLocaleString()],
    ['Event id', e.id],
  ];
  // What a room's arbitration or echo suppression decided, when the log has it.
  if (e['detail'] !== undefined && e['detail'] !== null) {
    items.push(['Detail', JSON.stringify(e['detail'], null, 2)]);
  }
  if (e['winner'] !== undefined) items.push(['Winner', e['winner']]);
  const dialog = h(
    'dialog',
    { class: 'why-dialog', 'aria-labelledby': 'why-title' },
    h('h2', { id: 'why-title' }, `Why: ${e.reason}`),
    h(
      'dl',
      { class: 'why' },
      items
        .filter(([, v]) => v !== null && v !== undefined && v !== '')
        .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
    ),
    // Everything the log holds for it, fields newer than this console included.
    h(
      'details',
      {},
      h('summary', {}, 'Every field'),
      h('pre', { class: 'raw' }, JSON.stringify(e, null, 2)),
    ),
    h('div', { class: 'actions' }, close),
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    from.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
}
