/**
 * Targets: the registry with each target's forwarding health, and a form to register one or
 * change it (POST /register replaces a target's address and phrases), and delete after a
 * confirmation. The API's own messages are shown next to the field they are about.
 */
import { ApiError, fieldOf, messageOf } from '../api.js';
import { confirmDialog, field, fill, h, notice, setFieldError, when } from '../dom.js';
import type { Target } from '../types.js';
import type { View, ViewContext } from '../view.js';

const FIELDS = ['name', 'base_url', 'phrases'] as const;

export function targetsView({ api }: ViewContext): View {
  const list = h('div', { class: 'list', 'aria-live': 'polite' });
  const status = h('div', { class: 'form-status' });

  const name = field(
    'Name',
    h('input', { name: 'name', autocomplete: 'off', maxlength: 32, required: true }),
    'Lower-case letters, digits and dashes; it also wakes the target.',
  );
  const baseUrl = field(
    'Base URL',
    h('input', {
      name: 'base_url',
      type: 'url',
      inputmode: 'url',
      placeholder: 'http://astraea.local:9001',
      required: true,
    }),
    'Echonet forwards utterances to its /listen.',
  );
  const phrases = field(
    'Wake phrases',
    h('textarea', { name: 'phrases', rows: 3, placeholder: 'hey astraea' }),
    'One per line.',
  );
  const fields = { name, base_url: baseUrl, phrases };
  const heading = h('h2', { id: 'target-form-title' }, 'Add a target');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Register');
  const cancel = h('button', { type: 'button', hidden: true }, 'Cancel edit');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'target-form-title', novalidate: true },
    heading,
    name.wrap,
    baseUrl.wrap,
    phrases.wrap,
    h('div', { class: 'actions' }, submit, cancel),
    status,
  );

  const clearErrors = () => {
    for (const f of Object.values(fields)) setFieldError(f, null);
    status.replaceChildren();
  };
  const resetForm = () => {
    form.reset();
    name.control.readOnly = false;
    heading.textContent = 'Add a target';
    submit.textContent = 'Register';
    cancel.hidden = true;
    clearErrors();
  };
  cancel.addEventListener('click', resetForm);

  const edit = (t: Target) => {
    clearErrors();
    name.control.value = t.name;
    name.control.readOnly = true;
    baseUrl.control.value = t.base_url;
    phrases.control.value = t.phrases.join('\n');
    heading.textContent = `Edit ${t.name}`;
    submit.textContent = 'Save';
    cancel.hidden = false;
    baseUrl.control.focus();
  };

  const remove = async (t: Target) => {
    const ok = await confirmDialog(
      `Delete target ${t.name}? Its conversations end and its phrases stop waking anything.`,
      `Delete ${t.name}`,
    );
    if (!ok) return;
    try {
      await api.call('DELETE', `/targets/${encodeURIComponent(t.name)}`);
      fill(status, notice('ok', `Deleted ${t.name}.`));
      await load();
    } catch (err) {
      fill(status, notice('error', `Could not delete ${t.name}: ${messageOf(err)}`));
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      clearErrors();
      const body = {
        name: name.control.value.trim(),
        base_url: baseUrl.control.value.trim(),
        phrases: phrases.control.value
          .split('\n')
          .map((p) => p.trim())
          .filter((p) => p !== ''),
      };
      submit.disabled = true;
      try {
        const answer = await api.call<{ registered: string }>('POST', '/register', body);
        const editing = name.control.readOnly;
        resetForm();
        fill(status, notice('ok', `${editing ? 'Saved' : 'Registered'} ${answer.registered}.`));
        await load();
      } catch (err) {
        const key = err instanceof ApiError ? fieldOf(err, FIELDS) : undefined;
        if (key) {
          setFieldError(fields[key as keyof typeof fields], messageOf(err));
          fields[key as keyof typeof fields].control.focus();
        } else {
          fill(status, notice('error', messageOf(err)));
        }
      } finally {
        submit.disabled = false;
      }
    })();
  });

  const row = (t: Target) => {
    const hl = t.health;
    const breaker = h('span', { class: `badge badge-${hl.breaker}` }, hl.breaker.replace('_', ' '));
    return h(
      'tr',
      { 'data-target': t.name },
      h('th', { scope: 'row' }, t.name),
      h('td', { 'data-label': 'Phrases' }, t.phrases.length ? t.phrases.join(', ') : '(name only)'),
      h('td', { 'data-label': 'Listen URL', class: 'url' }, t.listen_url),
      h(
        'td',
        { 'data-label': 'Health' },
        h(
          'dl',
          { class: 'health' },
          h('dt', {}, 'Breaker'),
          h('dd', {}, breaker),
          h('dt', {}, 'Last success'),
          h('dd', {}, when(hl.last_ok_at)),
          h('dt', {}, 'Last error'),
          h('dd', {}, hl.last_error ? `${hl.last_error} (${when(hl.last_error_at)})` : 'none'),
          hl.consecutive_failures > 0 && h('dt', {}, 'Failures in a row'),
          hl.consecutive_failures > 0 && h('dd', {}, hl.consecutive_failures),
        ),
      ),
      h(
        'td',
        { class: 'row-actions' },
        h(
          'button',
          { type: 'button', onclick: () => edit(t), 'aria-label': `Edit ${t.name}` },
          'Edit',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: () => void remove(t),
            'aria-label': `Delete ${t.name}`,
          },
          'Delete',
        ),
      ),
    );
  };

  const load = async () => {
    try {
      const { targets } = await api.get<{ targets: Target[] }>('/targets');
      if (targets.length === 0) {
        fill(
          list,
          h(
            'p',
            { class: 'empty' },
            'No targets are registered yet. Add one with the form below, or let an assistant register itself with POST /register.',
          ),
        );
        return;
      }
      fill(
        list,
        h(
          'table',
          { class: 'table stack' },
          h('caption', { class: 'sr-only' }, 'Registered targets'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Name', 'Phrases', 'Listen URL', 'Health', 'Actions'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h('tbody', {}, targets.map(row)),
        ),
      );
    } catch (err) {
      fill(
        list,
        notice('error', `Could not read the targets: ${messageOf(err)}. Reload to try again.`),
      );
    }
  };
  void load();

  const el = h(
    'section',
    {},
    h('h1', { tabindex: -1 }, 'Targets'),
    h(
      'p',
      { class: 'muted' },
      'The assistants Echonet routes to, and how their forwards are going.',
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', onclick: () => void load() }, 'Refresh'),
    ),
    list,
    form,
  );
  return { title: 'Targets', el };
}
