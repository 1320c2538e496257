/**
 * Try it: a sentence through POST /route/preview, which decides without routing anything; the
 * words the wake phrase matched are marked in the sentence.
 */
import { messageOf } from '../api.js';
import { field, fill, h, notice } from '../dom.js';
import { highlight } from '../highlight.js';
import type { Preview } from '../types.js';
import type { View, ViewContext } from '../view.js';

export function tryItView({ api }: ViewContext): View {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const text = field(
    'Sentence',
    h('input', {
      name: 'text',
      autocomplete: 'off',
      maxlength: 500,
      placeholder: 'hey astraea what is on my calendar',
    }),
    'As a speech-to-text front end would send it.',
  );
  const source = field(
    'Source id (optional)',
    h('input', { name: 'source_id', autocomplete: 'off', placeholder: 'kitchen-mic' }),
    'A source with an open conversation or its own listen mode is decided as that source.',
  );
  const frontEnd = field(
    'Front end',
    h(
      'select',
      { name: 'front_end' },
      ['http', 'wyoming', 'mqtt'].map((f) => h('option', { value: f }, f)),
    ),
  );
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Preview');
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    text.wrap,
    source.wrap,
    frontEnd.wrap,
    h('div', { class: 'actions' }, submit),
  );

  const show = (sentence: string, p: Preview) => {
    const pieces = highlight(sentence, p.match?.start, p.match?.end);
    fill(
      result,
      h('h2', {}, p.handled ? `Goes to ${p.routed_to ?? '—'}` : 'Not routed'),
      h(
        'p',
        { class: 'sentence', 'data-testid': 'highlighted' },
        pieces.map((piece) => (piece.marked ? h('mark', {}, piece.text) : piece.text)),
      ),
      h(
        'dl',
        { class: 'why' },
        h('dt', {}, 'Mode'),
        h('dd', {}, p.mode),
        h('dt', {}, 'Reason'),
        h('dd', {}, p.reason),
        p.match && [
          h('dt', {}, 'Wake phrase'),
          h(
            'dd',
            {},
            `${p.match.phrase} (${p.match.target ?? ''}), score ${p.match.score.toFixed(2)}${p.match.exact ? ', exact' : ''}`,
          ),
          h('dt', {}, 'Heard as'),
          h('dd', {}, p.match.matched_text),
        ],
        h('dt', {}, 'Would forward'),
        h('dd', {}, p.forward_text ?? '(nothing)'),
      ),
      !p.handled &&
        h(
          'p',
          { class: 'muted' },
          'No wake phrase matched and no conversation is open. Check the targets’ phrases, or lower match_min_score in Settings.',
        ),
    );
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const sentence = text.control.value;
      if (sentence.trim() === '') {
        fill(result, notice('error', 'Type a sentence first.'));
        text.control.focus();
        return;
      }
      submit.disabled = true;
      try {
        const sourceId = source.control.value.trim();
        const p = await api.call<Preview>('POST', '/route/preview', {
          text: sentence,
          front_end: frontEnd.control.value,
          ...(sourceId !== '' && { source_id: sourceId }),
        });
        show(sentence, p);
      } catch (err) {
        fill(result, notice('error', messageOf(err)));
      } finally {
        submit.disabled = false;
      }
    })();
  });

  const el = h(
    'section',
    {},
    h('h1', { tabindex: -1 }, 'Try it'),
    h(
      'p',
      { class: 'muted' },
      'See what Echonet would do with a sentence. Nothing is routed or logged.',
    ),
    form,
    result,
  );
  return { title: 'Try it', el };
}
