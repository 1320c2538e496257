/**
 * Listen mode: the current mode (and an active target's time left), the modes scoped to one
 * source, a form to switch (PUT /state, on behalf of a registered target) and the history.
 */
import { ApiError, fieldOf, messageOf } from '../api.js';
import { field, fill, h, notice, setFieldError, when } from '../dom.js';
import type { ModeChange, StateView, Target } from '../types.js';
import type { View, ViewContext } from '../view.js';

const MODES: Record<string, string> = {
  trigger: 'trigger: a wake phrase opens a conversation',
  active: 'active: every utterance goes to the target',
  inactive: 'inactive: nothing is routed',
};

export function listenView({ api }: ViewContext): View {
  const current = h('div', { class: 'card', 'aria-live': 'polite' });
  const history = h('div', { class: 'list' });
  const status = h('div', { class: 'form-status' });

  const mode = field(
    'Mode',
    h(
      'select',
      { name: 'state' },
      Object.entries(MODES).map(([value, label]) => h('option', { value }, label)),
    ),
  );
  const target = field(
    'On behalf of target',
    h('select', { name: 'target' }),
    'The target that asks for it; with active, the one every utterance goes to.',
  );
  const scope = field(
    'Only for source (optional)',
    h('input', { name: 'source_id', autocomplete: 'off', placeholder: 'kitchen-mic' }),
    'Empty: the mode for every source. A source id: that front end only.',
  );
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Switch');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'switch-title', novalidate: true },
    h('h2', { id: 'switch-title' }, 'Switch the listen mode'),
    mode.wrap,
    target.wrap,
    scope.wrap,
    h('div', { class: 'actions' }, submit),
    status,
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      setFieldError(target, null);
      setFieldError(scope, null);
      status.replaceChildren();
      const sourceId = scope.control.value.trim();
      submit.disabled = true;
      try {
        const answer = await api.call<{ message: string }>('PUT', '/state', {
          state: mode.control.value,
          target: target.control.value,
          source: 'console',
          reason: 'changed in the console',
          ...(sourceId !== '' && { source_id: sourceId }),
        });
        fill(status, notice('ok', answer.message));
        await load();
      } catch (err) {
        const named = err instanceof ApiError ? fieldOf(err, ['target', 'source_id']) : undefined;
        if (named === 'source_id') setFieldError(scope, messageOf(err));
        else if (named === 'target' || (err instanceof ApiError && err.status === 404)) {
          setFieldError(target, messageOf(err));
        } else fill(status, notice('error', messageOf(err)));
      } finally {
        submit.disabled = false;
      }
    })();
  });

  const describe = (m: string, t: string | null, expires: number | null) =>
    [m, t && ` to ${t}`, expires !== null && ` (${Math.round(expires)} s left)`]
      .filter(Boolean)
      .join('');

  const load = async () => {
    try {
      const [state, hist, targets] = await Promise.all([
        api.get<StateView>('/state'),
        api.get<{ changes: ModeChange[] }>('/state/history?limit=20'),
        api.get<{ targets: Target[] }>('/targets'),
      ]);
      fill(
        current,
        h('h2', {}, 'Now'),
        h(
          'p',
          { class: 'big', 'data-testid': 'current-mode' },
          describe(state.listen_mode, state.active_target, state.active_expires_in_s),
        ),
        state.sources.length === 0
          ? h('p', { class: 'muted' }, 'No source has a mode of its own.')
          : h(
              'ul',
              { class: 'scoped' },
              state.sources.map((s) =>
                h(
                  'li',
                  {},
                  h('strong', {}, s.source_id),
                  ': ',
                  describe(s.listen_mode, s.target, s.expires_in_s),
                ),
              ),
            ),
      );
      const chosen = target.control.value;
      fill(
        target.control,
        targets.targets.map((t) =>
          h('option', { value: t.name, selected: t.name === chosen }, t.name),
        ),
      );
      submit.disabled = targets.targets.length === 0;
      if (targets.targets.length === 0) {
        fill(
          status,
          notice('info', 'Register a target first: a mode change is made on behalf of a target.'),
        );
      }
      fill(
        history,
        hist.changes.length === 0
          ? h('p', { class: 'empty' }, 'No mode change yet.')
          : h(
              'table',
              { class: 'table stack' },
              h('caption', { class: 'sr-only' }, 'Listen mode history'),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['When', 'Setting', 'From', 'To', 'By', 'Why'].map((c) =>
                    h('th', { scope: 'col' }, c),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                hist.changes.map((c) =>
                  h(
                    'tr',
                    {},
                    h('td', { 'data-label': 'When' }, when(c.changed_at.replace(' ', 'T') + 'Z')),
                    h('td', { 'data-label': 'Setting' }, c.name),
                    h('td', { 'data-label': 'From' }, c.old_value ?? '—'),
                    h('td', { 'data-label': 'To' }, c.new_value),
                    h('td', { 'data-label': 'By' }, c.source ?? '—'),
                    h('td', { 'data-label': 'Why' }, c.reason ?? '—'),
                  ),
                ),
              ),
            ),
      );
    } catch (err) {
      fill(current, notice('error', `Could not read the listen mode: ${messageOf(err)}`));
    }
  };
  void load();

  const el = h(
    'section',
    {},
    h('h1', { tabindex: -1 }, 'Listen mode'),
    current,
    form,
    h('h2', {}, 'History'),
    history,
  );
  return { title: 'Listen mode', el };
}
