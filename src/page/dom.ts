/** Small DOM helpers. Data is only ever set as text or attribute values: never parsed as markup. */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else
      parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : (child as Node));
  }
}

/** `h('button', { type: 'button', onclick: f }, 'Activate')`: attributes as values, children as text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') {
      if (!name.startsWith('on')) throw new Error(`a function for attribute ${name}`);
      el.addEventListener(name.slice(2), value);
    } else if (name.startsWith('on')) {
      throw new Error(`refusing a string event handler (${name})`);
    } else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(iso: string, nowMs = Date.now()): string {
  const seconds = Math.round((nowMs - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return 'at an unknown time';
  if (seconds < 0) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Absolute times on the page name their zone (the browser's): the charts' are UTC, the logs' UTC, a colleague's another. */
export const ZONED: Intl.DateTimeFormatOptions = { timeZoneName: 'short' };

/** A <time> whose text says how long ago (kept fresh by `refreshTimes`, every second) and whose title gives the moment. */
export function timeAgo(iso: string | null | undefined): HTMLElement {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString(undefined, ZONED), 'data-ago': iso }, ago(iso));
}

export function refreshTimes(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>('time[data-ago]')) {
    const text = ago(el.dataset.ago ?? '');
    if (el.textContent !== text) el.textContent = text;
  }
}

/** A value from a JSON field (tunables, config changes) as a short text. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * Replaces a container's content while keeping keyboard focus on the control with the same
 * `data-focus` key, so a live update does not throw a keyboard user back to the top.
 */
export function rerender(container: Element, build: () => Child[]): void {
  const active = document.activeElement as HTMLElement | null;
  const key = active && container.contains(active) ? active.dataset.focus : undefined;
  replace(container, ...build());
  if (key) refocus(key, container);
}

/**
 * Focus to the control keyed `key` in `within`, found afresh (a render replaced the one that had
 * it); when it is gone or disabled (gold's *Activate…* became *Active*), to the heading of its
 * section: focus was dropped to the page's top, and the next Tab started over from the skip link.
 */
export function refocus(key: string, within: Element): void {
  const again = [...within.querySelectorAll<HTMLElement>('[data-focus]')].find((el) => el.dataset.focus === key);
  if (again && !(again as HTMLButtonElement).disabled) {
    again.focus();
    return;
  }
  within.closest('section')?.querySelector<HTMLElement>('h2[tabindex="-1"]')?.focus();
}

/**
 * How much of a runner id the page shows: the CLI allows 128 characters, but a record put straight
 * into the store may hold any (a 600-character id made a fleet tile ~900 px tall). The whole id is
 * in the title.
 */
export const ID_SHOWN_CHARS = 64;

/** Bidi controls: embeddings, overrides, isolates, marks. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * A runner id as the page writes it: cut to ID_SHOWN_CHARS, and its bidi controls shown as code
 * points. An id of '\u202Egnp.exe' reversed what came after it ("(4321 dip) exe.png"): shown,
 * the control neither acts nor hides; and a stray isolate terminator in it cannot end the
 * isolation `idText` puts around it.
 */
export function shownId(id: string): string {
  const chars = [...id.replace(BIDI_CONTROLS, (c) => `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`)];
  return chars.length <= ID_SHOWN_CHARS ? chars.join('') : `${chars.slice(0, ID_SHOWN_CHARS - 1).join('')}…`;
}

/** A runner id inside a sentence of text (an attribute, a message): isolated (FSI … PDI), as `<bdi>` does in markup. */
export const idText = (id: string) => `\u2068${shownId(id)}\u2069`;

/** A runner id as an element: `<bdi>` keeps a right-to-left id from reordering the words around it; the whole id in its title. */
export const idElement = (id: string) => h('bdi', { class: 'runner-id', title: id }, shownId(id));
