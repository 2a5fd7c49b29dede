import type { ApiError } from '../api.js';
import { byId, type Child, h, replace } from '../dom.js';

/** The page's one modal dialog (native <dialog>: focus kept inside, Escape closes). */
export function dialog(): HTMLDialogElement {
  return byId<HTMLDialogElement>('dialog');
}

export function openDialog(title: string, ...content: Child[]): HTMLDialogElement {
  const el = dialog();
  replace(el, h('h2', { id: 'dialog-title' }, title), h('div', { class: 'dialog-body' }, ...content));
  el.setAttribute('aria-labelledby', 'dialog-title');
  if (!el.open) el.showModal();
  el.querySelector<HTMLElement>('[autofocus]')?.focus();
  return el;
}

export function closeDialog(): void {
  const el = dialog();
  if (el.open) el.close();
}

/** The API's refusal, word for word (its message is the contract: DESIGN's error table). */
export function refusalBox(errors: readonly ApiError[], ...more: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'error-box', role: 'alert', 'data-testid': 'action-error' },
    ...errors.map((e) => h('p', {}, h('strong', {}, e.message), e.code ? h('span', { class: 'code' }, ` ${e.code}`) : null)),
    ...more,
  );
}

export function buttons(...children: Child[]): HTMLElement {
  return h('div', { class: 'actions' }, ...children);
}
