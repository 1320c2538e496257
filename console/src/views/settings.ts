/**
 * Settings: GET /config's live settings with their type and where each value comes from, edited
 * in place (PUT /config/{key}); "Reset" drops a value set here (DELETE /config/{key}) so the
 * environment or the default applies again. The API's validation message shows under the value.
 */
import { messageOf } from '../api.js';
import { fill, h, notice, setFieldError, uid } from '../dom.js';
import type { ConfigEntry } from '../types.js';
import type { View, ViewContext } from '../view.js';

const ORIGINS: Record<ConfigEntry['origin'], string> = {
  api: 'set here',
  env: 'environment',
  default: 'default',
};

export function settingsView({ api }: ViewContext): View {
  const list = h('div', { class: 'list' });

  const row = (entry: ConfigEntry): HTMLElement => {
    const id = uid('setting');
    const control =
      entry.type === 'bool'
        ? h(
            'select',
            { id, name: entry.key },
            ['true', 'false'].map((v) => h('option', { value: v, selected: v === entry.value }, v)),
          )
        : h('input', {
            id,
            name: entry.key,
            value: entry.value,
            inputmode: entry.type === 'str' ? 'text' : 'decimal',
            autocomplete: 'off',
          });
    const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    control.setAttribute('aria-describedby', `${id}-desc ${id}-error`);
    const status = h('span', { class: 'row-status', role: 'status' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const reset = h(
      'button',
      { type: 'button', hidden: entry.origin !== 'api', 'aria-label': `Reset ${entry.key}` },
      'Reset',
    );
    const f = { error, control };
    const apply = async (method: 'PUT' | 'DELETE') => {
      setFieldError(f, null);
      status.textContent = '';
      try {
        const next = await api.call<ConfigEntry>(
          method,
          `/config/${encodeURIComponent(entry.key)}`,
          method === 'PUT' ? { value: control.value, reason: 'changed in the console' } : undefined,
        );
        const fresh = row(next);
        form.replaceWith(fresh);
        const freshStatus = fresh.querySelector('.row-status');
        if (freshStatus) freshStatus.textContent = method === 'PUT' ? 'Saved.' : 'Reset.';
      } catch (err) {
        setFieldError(f, messageOf(err));
        control.focus();
      }
    };
    reset.addEventListener('click', () => void apply('DELETE'));
    const form: HTMLElement = h(
      'form',
      { class: 'setting', 'data-key': entry.key, novalidate: true },
      h(
        'div',
        { class: 'setting-head' },
        h('label', { for: id }, entry.key),
        h('span', { class: 'badge' }, entry.type),
        h('span', { class: `badge origin-${entry.origin}` }, ORIGINS[entry.origin]),
      ),
      h('p', { class: 'hint', id: `${id}-desc` }, entry.description ?? ''),
      h('div', { class: 'setting-edit' }, control, save, reset, status),
      error,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void apply('PUT');
    });
    return form;
  };

  const load = async () => {
    try {
      const { settings } = await api.get<{ settings: Record<string, ConfigEntry> }>('/config');
      const entries = Object.values(settings);
      fill(
        list,
        entries.length === 0
          ? h('p', { class: 'empty' }, 'This Echonet has no settings that change at run time.')
          : entries.map(row),
      );
    } catch (err) {
      fill(list, notice('error', `Could not read the settings: ${messageOf(err)}`));
    }
  };
  void load();

  const el = h(
    'section',
    {},
    h('h1', { tabindex: -1 }, 'Settings'),
    h(
      'p',
      { class: 'muted' },
      'Settings that apply from the next utterance, without a restart. A value set here wins over the environment until it is reset.',
    ),
    list,
  );
  return { title: 'Settings', el };
}
