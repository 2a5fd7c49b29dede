import { type ApiError, type ApiResult, errorSentences, notConfirmed } from '../api.js';
import { byId, type Child, h, refocus, replace, timeAgo, ZONED } from '../dom.js';

/** The page's one modal dialog (native <dialog>: focus kept inside, Escape closes). */
export function dialog(): HTMLDialogElement {
  return byId<HTMLDialogElement>('dialog');
}

/**
 * The dialog's openings and its close events, counted: each opening ends with one close event, the
 * browser's, but that event is dispatched in a task of its own, after the close. A dialog closed
 * and opened again at once (Escape then Enter on its opener, typed quickly on a busy page) gets the
 * first closing's event while the second opening is on: taken for that opening's end, it spent
 * what was waiting for it (focus went back to the opener too early, inert behind the modal, and at
 * the real close to nothing: the page's top; the new opening's version watch stopped at once).
 */
let openings = 0;
let closeEvents = 0;
let counting = false;

function countCloseEvents(el: HTMLDialogElement): void {
  if (counting) return;
  counting = true;
  // Captured at the window: counted before any listener of the dialog's own runs.
  window.addEventListener(
    'close',
    (event) => {
      if (event.target === el) closeEvents++;
    },
    true,
  );
}

/**
 * Runs `then` at the close event of the dialog's opening now on (not at an earlier opening's, which
 * may come later than this one's start). Returns a function that stops waiting.
 */
export function whenThisOpeningCloses(then: () => void): () => void {
  const el = dialog();
  const mine = openings;
  const listener = () => {
    if (closeEvents < mine) return; // an earlier opening's close event
    el.removeEventListener('close', listener);
    then();
  };
  el.addEventListener('close', listener);
  return () => el.removeEventListener('close', listener);
}

/**
 * Where focus goes back when the dialog closes. The browser gives it back to the control that
 * opened it, but a live update re-renders the tables while the dialog is open (a change's own
 * new version does): that control is then a detached copy, and focus fell to the page's top. The
 * opener's `data-focus` key finds its fresh copy (or, gone or disabled, its section's heading).
 */
function returnFocusOnClose(el: HTMLDialogElement): void {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const key = opener?.dataset.focus;
  const section = opener?.closest('section');
  if (!key || !section) return;
  const mine = openings;
  whenThisOpeningCloses(() => {
    // Opened again since (its close event came late): focus is the new opening's.
    if (el.open || mine !== openings) return;
    // Given back by the browser, unless its opener was gone: focus then stays on the closed
    // dialog's button until the browser moves it to the page's top.
    const now = document.activeElement;
    if (now && now !== document.body && now.isConnected && !el.contains(now)) return;
    refocus(key, section);
  });
}

export function openDialog(title: string, ...content: Child[]): HTMLDialogElement {
  const el = dialog();
  countCloseEvents(el);
  if (!el.open) {
    openings++;
    returnFocusOnClose(el);
  }
  replace(el, h('h2', { id: 'dialog-title' }, title), h('div', { class: 'dialog-body' }, ...content));
  el.setAttribute('aria-labelledby', 'dialog-title');
  if (!el.open) el.showModal();
  el.querySelector<HTMLElement>('[autofocus]')?.focus({ preventScroll: true });
  // The dialog opens at its top (its title, what will change), even when the button focused
  // (Cancel, at the bottom) is below the fold of a phone's screen: showModal scrolled to it.
  el.scrollTop = 0;
  return el;
}

/**
 * The page's token was refused and forgotten (a 401: revoked, expired, replaced): a dialog open now
 * can no longer send (its change would go without a token, and be refused). Said in it, and its
 * send button (`data-sends`) disabled for good; a dialog opened after it is read-only as any.
 */
export function tokenLost(): void {
  const el = dialog();
  const send = el.open ? el.querySelector<HTMLButtonElement>('[data-sends]') : null;
  if (!send || send.dataset.tokenLost) return;
  send.dataset.tokenLost = 'true';
  send.disabled = true;
  el.querySelector('.dialog-body')?.append(
    h(
      'p',
      { class: 'warn-box', role: 'alert', 'data-testid': 'token-lost' },
      'The token was refused and has been forgotten: this dialog can no longer send. Enter a valid token, then open it again.',
    ),
  );
}

/** Whether `button` may be given back to the operator (not after tokenLost). */
export const mayEnable = (button: HTMLButtonElement): boolean => !button.dataset.tokenLost;

export function closeDialog(): void {
  const el = dialog();
  if (el.open) el.close();
}

/** The errno values a failed config write names (Node's codes), in words. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  EBUSY: 'device or resource busy',
  EOVERFLOW: 'value too large',
};

/** README's way out of the version bound ("The config file"), said wherever the page meets it. */
export const VERSION_BOUND_WAY_OUT =
  'The way out is in README ("The config file"): with the file store, stop the server, move audit.log out of the runtime directory (keep it), set "version: 1" in config.yaml, and start it again.';

/** The last version a config may have (GraphQL's Int; the server's MAX_VERSION, src/config/errors.ts). */
export const LAST_CONFIG_VERSION = 2_147_483_647;

/**
 * A dialog's change made against `expectedVersion` cannot be numbered (the server refuses it,
 * CONFIG_WRITE_FAILED, whatever is retried): the words its dialog shows, its send button disabled.
 * Null below the bound.
 */
export function versionBoundNote(expectedVersion: number, testId: string): HTMLElement | null {
  if (expectedVersion < LAST_CONFIG_VERSION) return null;
  return h(
    'p',
    { class: 'warn-box', 'data-testid': testId },
    `No further config version can be written: ${LAST_CONFIG_VERSION} is the last one, so the server would refuse this change and nothing can be sent. ${VERSION_BOUND_WAY_OUT}`,
  );
}

/** The step of a CONFIG_WRITE_FAILED refusal at the version bound (src/config/errors.ts, nextVersion). */
const VERSION_BOUND_STEP = /^number the next version \(/;

/**
 * Why a CONFIG_WRITE_FAILED refusal happened (its `extensions.step` and `errno`), in words: the
 * message alone ("Config could not be written") did not tell a full disk (free space, retry) from
 * the version bound (no retry can succeed: README's way out).
 */
export function writeFailureWords(e: ApiError): string[] {
  if (e.code !== 'CONFIG_WRITE_FAILED') return [];
  const step = typeof e.extensions.step === 'string' ? e.extensions.step : null;
  const errno = typeof e.extensions.errno === 'string' ? e.extensions.errno : null;
  const why = errno ? ` (${errno}${ERRNO_WORDS[errno] ? `: ${ERRNO_WORDS[errno]}` : ''})` : '';
  const words = [step ? `Step: ${step}${why}.` : errno ? `Error${why}.` : 'No step was given.'];
  if (step && VERSION_BOUND_STEP.test(step))
    words.push(`No further config version can be written: retrying cannot help. ${VERSION_BOUND_WAY_OUT}`);
  else words.push('The server log has the details (its ERROR line "config could not be written").');
  return words;
}

/** The API's refusal, word for word (its message is the contract: DESIGN's error table), with a failed write's step and errno. */
function refusalBox(errors: readonly ApiError[], ...more: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'error-box', role: 'alert', 'data-testid': 'action-error' },
    ...errors.flatMap((e) => [
      h('p', {}, h('strong', {}, e.message), e.code ? h('span', { class: 'code' }, ` ${e.code}`) : null),
      ...writeFailureWords(e).map((words) => h('p', { 'data-testid': 'write-failure' }, words)),
    ]),
    ...more,
  );
}

/** A node's words, for a notice (which is text only). */
function textOf(child: Child): string {
  if (child === null || child === undefined || child === false) return '';
  if (Array.isArray(child)) return child.map(textOf).join('');
  return typeof child === 'string' || typeof child === 'number' ? String(child) : ((child as Node).textContent ?? '');
}

/**
 * The words for a first send found applied: `what` (`range is active`) at version N, by whom and
 * when, if the version in force is the one the first send made (expectedVersion + 1, by this
 * viewer, with `operation`); null otherwise.
 */
export function firstSendWords(
  state: {
    readonly viewer: { readonly name: string } | null;
    readonly status: { readonly configVersion: number } | null;
    readonly history: readonly { version: number; actor: string; operation: string; time: string }[] | null;
  },
  expectedVersion: number,
  operation: string,
  what: Child[],
): Child[] | null {
  const version = state.status?.configVersion;
  if (version !== expectedVersion + 1) return null;
  const entry = state.history?.find((e) => e.version === version);
  if (!entry || entry.operation !== operation || (state.viewer && entry.actor !== state.viewer.name)) return null;
  return [
    'Your first send was applied: ',
    ...what,
    ` at version ${version}, changed `,
    timeAgo(entry.time),
    ' by ',
    h('strong', {}, entry.actor),
    '.',
  ];
}

export function buttons(...children: Child[]): HTMLElement {
  return h('div', { class: 'actions' }, ...children);
}

/** How long a change may go unanswered before its dialog says the server has not answered. */
export const UNANSWERED_MS = 5_000;

/**
 * A click on the dialog's Close button (or Escape) this soon after the change was sent is taken for
 * the second click of a double click on the confirm button (or a key pressed with it), and
 * ignored: it closed the dialog 60 ms before the answer and left a false "had no answer" notice
 * beside the success.
 */
export const CLOSE_IGNORED_MS = 500;

/** What the page offers `sendFromDialog`: notices, and taking away the ones news has settled. */
export interface Notifier {
  notify(kind: 'success' | 'error' | 'info', text: string, topic?: string): void;
  clearNotices(topic: string): void;
}

let sends = 0;

export interface Sending {
  /** The dialog's confirm button: disabled while the change is in flight. */
  readonly confirm: HTMLButtonElement;
  /** Its text meanwhile (`Activating…`). */
  readonly busy: string;
  /** Where the dialog tells what became of it. */
  readonly outcome: HTMLElement;
  /** The dialog's Cancel button: it can no longer cancel anything once the change is sent. */
  readonly cancel: HTMLButtonElement;
  /** The change in words, as a notice's subject (`The activation of range`). */
  readonly what: string;
}

/**
 * Sends a change from the open dialog and says what a closed dialog cannot undo: once sent, it may
 * be applied whatever becomes of the dialog (a server that hangs, then answers, applies it then).
 * While it has no answer the dialog counts the seconds, and after UNANSWERED_MS says the server has
 * not answered and the change may still be applied; closing the dialog does not cancel it, and the
 * page says so in a notice. `open`: the dialog is still the one that sent it (the caller shows the
 * outcome there, else in a notice: `outcomeNotice`).
 */
export async function sendFromDialog<T>(
  app: Notifier,
  sending: Sending,
  send: () => Promise<ApiResult<T>>,
): Promise<{ result: ApiResult<T>; open: boolean }> {
  const el = dialog();
  const sentAt = Date.now();
  // The "had no answer" notice of this send, taken away when the answer comes.
  const topic = `unanswered-${++sends}`;
  let open = true;
  const onClose = () => {
    open = false;
    app.notify(
      'info',
      `${sending.what} was sent at ${new Date(sentAt).toLocaleTimeString(undefined, ZONED)} and had no answer when its dialog was closed: closing does not cancel it, and it may still be applied. This page says what became of it when the server answers.`,
      topic,
    );
  };
  const stopWaitingForClose = whenThisOpeningCloses(onClose);
  const ignoreEarlyClose = (event: Event) => {
    if (Date.now() - sentAt >= CLOSE_IGNORED_MS || !(event.target instanceof Node) || !sending.cancel.contains(event.target)) return;
    event.stopImmediatePropagation();
    event.preventDefault();
  };
  el.addEventListener('click', ignoreEarlyClose, true);
  // Escape this soon is held back the same way: it closed the dialog at once, leaving the "had no
  // answer" notice beside the success a moment later. The keydown is the one Chromium acts on (a
  // refused `cancel` alone is not asked again for a second Escape); it goes to the document when
  // focus left the dialog (the confirm button, disabled, loses it). `cancel` covers other close requests.
  const ignoreEarlyEscape = (event: Event) => {
    if (Date.now() - sentAt >= CLOSE_IGNORED_MS || !el.open) return;
    if (event instanceof KeyboardEvent && event.key !== 'Escape') return;
    event.preventDefault();
  };
  document.addEventListener('keydown', ignoreEarlyEscape, true);
  el.addEventListener('cancel', ignoreEarlyEscape);
  // The buttons keep their places while the change is in flight: the confirm's shorter label
  // ("Activating…") and Cancel's longer one moved Cancel under the pointer mid double click.
  for (const button of [sending.confirm, sending.cancel]) button.style.minWidth = `${button.getBoundingClientRect().width}px`;
  sending.confirm.disabled = true;
  sending.confirm.textContent = sending.busy;
  sending.cancel.textContent = 'Close';
  const waiting = h('p', { class: 'muted', role: 'status', 'data-testid': 'in-flight' });
  sending.outcome.replaceChildren(waiting);
  const tick = () => {
    const ms = Date.now() - sentAt;
    const seconds = Math.round(ms / 1000);
    waiting.textContent =
      ms < 1_000
        ? ''
        : ms < UNANSWERED_MS
          ? `Sent ${seconds} s ago; waiting for the answer…`
          : `No answer from the server for ${seconds} s. The change was sent: it may still be applied when the server answers. Closing this dialog does not cancel it.`;
    waiting.className = ms < UNANSWERED_MS ? 'muted' : 'warn-box';
    if (ms >= UNANSWERED_MS) sending.cancel.textContent = 'Close (does not cancel)';
  };
  const timer = setInterval(tick, 1_000);
  try {
    const result = await send();
    // Answered: what the closed dialog's notice said ("had no answer") is settled by the outcome.
    if (!open) app.clearNotices(topic);
    return { result, open };
  } finally {
    clearInterval(timer);
    stopWaitingForClose();
    el.removeEventListener('click', ignoreEarlyClose, true);
    document.removeEventListener('keydown', ignoreEarlyEscape, true);
    el.removeEventListener('cancel', ignoreEarlyEscape);
    waiting.remove();
    if (open) sending.cancel.textContent = 'Close';
  }
}

/** A refusal (or no answer) of a change whose dialog was closed, as a notice. */
function outcomeNotice(app: Notifier, what: string, errors: readonly ApiError[]): void {
  const words = [errorSentences(errors), ...errors.flatMap(writeFailureWords)].join(' ');
  app.notify(
    'error',
    notConfirmed(errors)
      ? `${what} was not confirmed: ${words} It may or may not have been applied: the timeline shows it if it was.`
      : `${what} was refused: ${words} Nothing was changed.`,
  );
}

/** Confirm buttons whose last send had no answer (Not confirmed): what they send next is a *Send again*. */
const unconfirmedSends = new WeakSet<HTMLButtonElement>();

/**
 * A change that was not applied, told where it can be seen: after a conflict the page reloads
 * first (what `onConflict` shows is then what is in force); a closed dialog gets a notice; an
 * open one the API's words, what `onConflict` adds inside the box and after it, or *Send again*
 * when the server could not be reached or the answer was not the API's (a proxy's 504 page, a body
 * that broke off): only the API's own errors say the change was refused.
 */
export async function showNotApplied(
  app: Notifier & { refresh(): Promise<void> },
  sending: Sending,
  errors: readonly ApiError[],
  open: boolean,
  expectedVersion: number,
  onConflict: () => { notes: Child[]; after?: HTMLElement } = () => ({ notes: [] }),
  /**
   * After a conflict on a *Send again*: the words saying the first send was applied, when what is
   * in force is what it sent (else null). The server refuses the second send since the first got
   * through: "your change was not applied" told the operator the opposite of what happened.
   */
  firstApplied: () => Child[] | null = () => null,
): Promise<void> {
  const conflict = errors.some((e) => e.code === 'CONFLICT');
  const resent = unconfirmedSends.has(sending.confirm);
  unconfirmedSends.delete(sending.confirm);
  if (conflict) await app.refresh();
  const applied = conflict && resent ? firstApplied() : null;
  if (applied) {
    const words = errorSentences(errors);
    if (!open) {
      app.notify('success', [...applied, ` (The second send was refused: ${words})`].map(textOf).join(''));
      return;
    }
    sending.outcome.replaceChildren(
      h(
        'div',
        { class: 'success-box', role: 'status', 'data-testid': 'first-send-applied' },
        h('p', {}, ...applied),
        h('p', { class: 'muted' }, `The second send was refused only because the first got through: ${words} Nothing else changed.`),
      ),
    );
    sending.confirm.textContent = 'Applied';
    sending.confirm.disabled = true;
    return;
  }
  if (!open) return outcomeNotice(app, sending.what, errors);
  const unknown = notConfirmed(errors);
  const added = conflict ? onConflict() : { notes: [] };
  sending.outcome.replaceChildren(refusalBox(errors, ...added.notes, unknown ? unconfirmed(sending, expectedVersion) : null));
  if (added.after) sending.outcome.append(added.after);
  if (!unknown) sending.confirm.textContent = 'Refused';
}

/**
 * The server could not be reached, or what answered was not the API: the change may or may not
 * have arrived. Sending it again is safe, since it carries the version it was made against
 * (refused if the first one was applied).
 */
function unconfirmed(sending: Sending, expectedVersion: number): HTMLElement {
  unconfirmedSends.add(sending.confirm);
  sending.confirm.disabled = !mayEnable(sending.confirm);
  sending.confirm.textContent = 'Send again';
  return h(
    'p',
    {},
    `Not confirmed: the change may or may not have reached the server. Sending it again is safe: it carries expectedVersion ${expectedVersion}, so the server refuses it if the first one was applied.`,
  );
}

/**
 * Watches the config version while a dialog made against `expectedVersion` is open: once the live
 * status says it moved on (someone else changed the config), the dialog says so before anything is
 * sent, and offers `review` (the dialog again, against what is in force now). Ends with the dialog,
 * or when the returned function is called (the change is being sent: its own new version is no news).
 *
 * `presets`: the dialog also shows strategies read at presets version `version` (a preset's risk,
 * tunables, bounds). A preset changed meanwhile (`stratctl preset set`, a hand edit of
 * strategies.yaml) moves the presets version, not the config's: the server would accept the change
 * with settings the operator never saw. Said the same way, and `confirm` is disabled until reviewed.
 */
export function warnWhenVersionMoves(
  app: {
    readonly state: {
      readonly status: { readonly configVersion: number; readonly presetsVersion: number; readonly activeStrategyKey: string } | null;
    };
  },
  expectedVersion: number,
  where: HTMLElement,
  review: () => void,
  presets?: { readonly version: number | null; readonly confirm: HTMLButtonElement },
  /** Watching again after a pause (Tunables, between a refusal and the next edit): not an opening. */
  resumed = false,
): () => void {
  let shown = false;
  const say = (words: string) => {
    shown = true;
    where.replaceChildren(
      h(
        'div',
        { class: 'warn-box', role: 'alert', 'data-testid': 'version-moved' },
        h('p', {}, words),
        buttons(h('button', { type: 'button', onclick: review }, 'Review again')),
      ),
    );
  };
  let opening = !resumed;
  const check = () => {
    const now = app.state.status;
    const first = opening;
    opening = false;
    if (shown || !now) return;
    if (now.configVersion !== expectedVersion) {
      say(
        first
          ? // Opened while the page was still reading the version the live status announced (or failed to).
            `The config is at version ${now.configVersion} now (${now.activeStrategyKey} active), and this dialog shows version ${expectedVersion}: the page has not loaded the change yet. What this dialog shows is out of date, and sending it would be refused.`
          : `The config changed since this dialog opened: it is at version ${now.configVersion} now (${now.activeStrategyKey} active), not ${expectedVersion}. What this dialog shows is out of date, and sending it would be refused.`,
      );
    } else if (presets && presets.version !== null && now.presetsVersion !== presets.version) {
      presets.confirm.disabled = true;
      say(
        `The strategies changed since this dialog opened: a preset was changed (presets version ${now.presetsVersion} now, not ${presets.version}). What this dialog shows may be out of date, and the server would not refuse it: review it again before sending.`,
      );
    }
  };
  // Looked at once at the start too: a preset changed, or the config moved, before what the dialog shows was read again.
  check();
  const timer = setInterval(check, 500);
  const stopWaiting = whenThisOpeningCloses(() => clearInterval(timer));
  return () => {
    clearInterval(timer);
    stopWaiting();
  };
}
