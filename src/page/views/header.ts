import { byId, h, replace, ZONED } from '../dom.js';
import { type ServerBuild, type State, serverChanged } from '../model.js';

export interface HeaderActions {
  useToken(value: string): Promise<void>;
  forgetToken(): void;
}

/** Wires the token form once: the token goes to sessionStorage (token.ts), never into the URL or a cookie. */
export function setupHeader(actions: HeaderActions): void {
  const form = byId<HTMLFormElement>('token-form');
  const input = byId<HTMLInputElement>('token-input');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim() === '') return;
    void actions.useToken(input.value);
    input.value = '';
  });
  byId<HTMLButtonElement>('forget-token').addEventListener('click', () => actions.forgetToken());
}

function liveText(state: State): string {
  switch (state.live.kind) {
    case 'open':
      return 'Live';
    case 'connecting':
      return 'Connecting…';
    case 'down':
      return 'Offline: reconnecting…';
    case 'needsToken':
      return 'Not live: needs a token';
    case 'paused':
      return 'Paused while the tab is hidden';
  }
}

export function renderHeader(state: State, hasToken: boolean): void {
  const live = byId('live');
  const connected = state.live.kind === 'open';
  live.dataset.connected = String(connected);
  live.className = `live live-${state.live.kind}`;
  const text = liveText(state);
  if (live.textContent !== text) live.textContent = text;

  const who = byId('viewer');
  const viewer = state.viewer;
  const whoText = viewer ? `Token: ${viewer.name} (${viewer.scope})` : hasToken ? 'Checking the token…' : 'Read-only: no token';
  if (who.textContent !== whoText) who.textContent = whoText;
  who.className = viewer ? 'viewer signed-in' : 'viewer read-only';
  // The control a keyboard user is on goes with the token's state: focus goes to what replaces it
  // (it fell to the page's top, and the next Tab started over from the skip link).
  const form = byId('token-form');
  const forget = byId('forget-token');
  const active = document.activeElement;
  const onForm = form.contains(active);
  const onForget = active === forget;
  forget.hidden = !hasToken;
  form.hidden = hasToken;
  if (hasToken && onForm) forget.focus();
  else if (!hasToken && onForget) byId('token-input').focus();

  const banners = byId('banners');
  const items: HTMLElement[] = [];
  if (state.live.kind === 'down') {
    items.push(
      h(
        'p',
        { class: 'banner error', 'data-testid': 'server-down' },
        h('strong', {}, 'Live updates are off: '),
        `${state.live.reason} (since ${new Date(state.live.since).toLocaleTimeString(undefined, ZONED)}); reconnecting. What is shown may be out of date.`,
      ),
    );
  }
  // The server cannot reach its config store (etcd away or hung): it refuses every change, and the
  // runners' heartbeats cannot be read, so their states are the last heard. Unsaid, the page showed
  // "Live", the runners STALE and "no runner is running": an operator restarted healthy runners.
  const store = state.status?.store;
  if (store && !store.connected) {
    const since = store.lastContactAt
      ? `since ${new Date(store.lastContactAt).toLocaleTimeString(undefined, ZONED)}`
      : 'since the server started';
    items.push(
      h(
        'p',
        { class: 'banner error', 'data-testid': 'store-down' },
        h('strong', {}, `The config store is unreachable ${since}: `),
        'changes are refused until it answers again, and the runners cannot be heard meanwhile (what they last reported is shown).',
      ),
    );
  }
  const { loaded, now } = state.serverVersion;
  if (loaded && now && serverChanged(loaded, now)) {
    // Another version is said as such; the same version is told apart by its commit (both known here).
    const rebuilt = loaded.version === now.version;
    const build = (b: ServerBuild) => `version ${b.version}${rebuilt ? ` (commit ${b.commit?.slice(0, 12)})` : ''}`;
    items.push(
      h(
        'p',
        { class: 'banner warn', 'data-testid': 'version-changed' },
        h('strong', {}, rebuilt ? 'The server was rebuilt: ' : 'The server was upgraded: '),
        `it now runs ${build(now)}; this page came from ${build(loaded)}. `,
        h('button', { type: 'button', onclick: () => location.reload() }, 'Reload the page'),
      ),
    );
  }
  if (!viewer && !hasToken && !state.status && state.loadError?.includes('Authentication required')) {
    items.push(
      h(
        'p',
        { class: 'banner warn', 'data-testid': 'read-only' },
        h('strong', {}, 'This server needs a token even to read. '),
        'Enter one above to see the status (it is kept in this tab only).',
      ),
    );
  } else if (!viewer && !hasToken) {
    items.push(
      h(
        'p',
        { class: 'banner info', 'data-testid': 'read-only' },
        h('strong', {}, 'Read-only. '),
        'Enter a token above to activate strategies, change tunables or roll back (it is kept in this tab only).',
      ),
    );
  } else if (viewer && viewer.scope === 'READ') {
    items.push(
      h(
        'p',
        { class: 'banner info', 'data-testid': 'read-only' },
        h('strong', {}, 'Read-only. '),
        `The token ${viewer.name} may only read.`,
      ),
    );
  }
  const key = items.map((i) => i.textContent).join('|');
  if (banners.dataset.key !== key) {
    banners.dataset.key = key;
    replace(banners, ...items);
  }
}

/**
 * A notice for the outcome of an action; errors stay until dismissed, the others for 15 s. `topic`:
 * what it is about, so news that settles it can take it away (`clearNotices`).
 */
export function notify(kind: 'success' | 'error' | 'info', text: string, topic?: string): void {
  const list = byId('notices');
  // A list item stays one (a role on the <li> made the list's children alerts, not items: axe's
  // `list`): the list is the page's polite live region, and an error's words are an alert inside it.
  const item = h(
    'li',
    { class: `notice ${kind}`, ...(topic && { 'data-topic': topic }) },
    h('span', kind === 'error' ? { role: 'alert' } : {}, text),
    ' ',
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss this notice', onclick: () => removeNotice(item) }, '×'),
  );
  // The same words again replace the older notice: four copies of one refusal pushed the page down.
  for (const old of [...list.children]) if (old.firstElementChild?.textContent === text) old.remove();
  list.prepend(item);
  while (list.children.length > 4) list.lastElementChild?.remove();
  if (kind !== 'error') setTimeout(() => removeNotice(item), 15_000);
}

/**
 * Takes a notice away. Focus on it (its Dismiss pressed from the keyboard) goes to the next
 * notice's, else to the first section's heading just below: it fell to the page's top.
 */
function removeNotice(item: Element): void {
  const hadFocus = item.contains(document.activeElement);
  const next = item.nextElementSibling ?? item.previousElementSibling;
  item.remove();
  if (!hadFocus) return;
  (next?.querySelector<HTMLElement>('button') ?? byId('glance-heading')).focus();
}

/** Takes away the notices about `topic` (a token refused, once a token is accepted). */
export function clearNotices(topic: string): void {
  for (const item of byId('notices').querySelectorAll(`[data-topic="${topic}"]`)) removeNotice(item);
}
