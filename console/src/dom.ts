/**
 * A small element builder: the console is plain DOM. Text always goes in as text nodes (never as
 * HTML), and no inline style is ever set (the CSP allows none): looks come from classes.
 */
type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, ''), value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces everything in `el`. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, ...children);
}

/** A time in seconds since 1970 (or an ISO string) as the reader's local date and time. */
export function when(t: number | string | null | undefined): string {
  if (t === null || t === undefined) return '—';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

let ids = 0;
/** A fresh id for label/aria wiring. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled control with room for its own error message under it. */
export function field<C extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  label: string,
  control: C,
  hint?: string,
): { wrap: HTMLElement; error: HTMLElement; control: C } {
  if (!control.id) control.id = uid('f');
  const error = h('p', { class: 'field-error', id: `${control.id}-error`, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  control.setAttribute(
    'aria-describedby',
    [hintEl ? hintEl.id : '', error.id].filter(Boolean).join(' '),
  );
  const wrap = h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  append(wrap, hintEl, error);
  return { wrap, error, control };
}

/** Shows (or with null, clears) a field's error and marks the control invalid. */
export function setFieldError(
  f: { error: HTMLElement; control: HTMLElement },
  message: string | null,
): void {
  f.error.hidden = message === null;
  f.error.textContent = message ?? '';
  if (message === null) f.control.removeAttribute('aria-invalid');
  else f.control.setAttribute('aria-invalid', 'true');
}

/** A status line read out by screen readers: 'ok', 'error' or plain 'info'. */
export function notice(kind: 'ok' | 'error' | 'info', text: string): HTMLElement {
  return h(
    'p',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    text,
  );
}

/** A modal confirmation (a <dialog>: focus stays inside, Escape cancels). */
export function confirmDialog(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: 'danger' }, confirmLabel);
    const no = h('button', { type: 'button' }, 'Cancel');
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, message),
      h('div', { class: 'actions' }, yes, no),
    );
    let answer = false;
    yes.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    no.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}
