import { h, idText, show, timeAgo } from '../dom.js';
import { acceptedWords, liveRunners, operationKind, type PageActions, RISK_WORDS, SESSION_WORDS, type Strategy } from '../model.js';
import {
  buttons,
  closeDialog,
  firstSendWords,
  LAST_CONFIG_VERSION,
  openDialog,
  sendFromDialog,
  showNotApplied,
  versionBoundNote,
  warnWhenVersionMoves,
} from './dialog.js';

function tunablesText(value: unknown): string {
  if (!value || typeof value !== 'object') return show(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(', ');
}

/** A cell of the diff: parameters one per line, each never broken inside (`0.0`⏎`5` read as two values). */
function cell(text: string, label: string): HTMLElement {
  return h('td', { 'data-label': label }, ...text.split(', ').map((part) => h('span', { class: 'unbroken' }, part)));
}

/** The state after a refusal, in words: what is in force now, since when, by whom. */
export function currentStateNote(app: PageActions): HTMLElement | null {
  const status = app.state.status;
  if (!status) return null;
  const change = app.state.history?.find((e) => e.version === status.configVersion);
  return h(
    'p',
    { 'data-testid': 'current-state' },
    'Now in force: ',
    h('code', {}, status.activeStrategyKey),
    ` at version ${status.configVersion}`,
    change
      ? [', changed ', timeAgo(change.time), ' by ', h('strong', {}, change.actor), ` (${operationKind(change.operation).word})`]
      : null,
    '. Nothing was overwritten.',
  );
}

/** Activate: shows what will change, sends the version it showed as `expectedVersion`. */
export function openActivate(app: PageActions, target: Strategy): void {
  const status = app.state.status;
  // The version the strategies list was read at: its parameters (effectiveTunables, with the
  // overrides) are of it. The live status's arrives first, and was sent beside the parameters of
  // the version before it; a newer one in force is said at once (warnWhenVersionMoves).
  const expectedVersion = app.state.strategiesConfigVersion;
  if (!status || expectedVersion === null) return;
  // Read with the list, at its version; not looked up in the table, which the filters may have left it out of.
  const active = app.state.strategiesActive;
  const current = active?.key === status.activeStrategyKey ? active : app.state.strategies?.find((s) => s.key === status.activeStrategyKey);
  // What the rows below show of the strategies (risk, parameters) is of this presets version.
  const presetsVersion = app.state.strategiesPresetsVersion;
  // RUNNING or ERROR: a runner in ERROR still scans (the server's count, fleet.ts isLive).
  const running = liveRunners(status.runners).length;
  // The server refuses config changes while the config file on disk is invalid (CONFIG_FILE_INVALID);
  // not while it is only missing, which this change writes again (it said "would be refused", and was applied).
  const invalid = status.configError?.changesRefused ? status.configError : null;
  const missing = status.configError && !status.configError.changesRefused ? status.configError : null;
  // At the version bound no change can be numbered: the server refuses it (CONFIG_WRITE_FAILED), whatever is retried.
  const atBound = expectedVersion >= LAST_CONFIG_VERSION;
  const rows: [string, string, string][] = [
    ['Strategy', `${status.activeStrategy.name} (${status.activeStrategyKey})`, `${target.name} (${target.key})`],
    ['Risk', RISK_WORDS[status.activeStrategy.riskLevel], RISK_WORDS[target.riskLevel]],
    ['Session', SESSION_WORDS[status.activeStrategy.sessionPreference], SESSION_WORDS[target.sessionPreference]],
    ['Instruments', status.activeStrategy.instruments.join(', '), target.instruments.join(', ')],
    ['Parameters', current ? tunablesText(current.effectiveTunables) : '—', tunablesText(target.effectiveTunables)],
    ['Config version', String(expectedVersion), atBound ? `none: ${LAST_CONFIG_VERSION} is the last one` : String(expectedVersion + 1)],
  ];
  const outcome = h('div', { 'aria-live': 'polite' });
  const moved = h('div', {});
  let stopWatching = () => {};
  const confirm = h(
    'button',
    {
      type: 'button',
      'data-testid': 'confirm-activate',
      'data-sends': 'true',
      disabled: atBound,
      onclick: async () => {
        stopWatching();
        moved.replaceChildren();
        const sending = { confirm, busy: 'Activating…', outcome, cancel, what: `The activation of ${target.key}` };
        const { result, open } = await sendFromDialog(app, sending, () => app.activate(target.key, expectedVersion));
        if (result.ok) {
          const a = result.data.activateStrategy;
          if (open) closeDialog();
          app.notify(
            'success',
            acceptedWords(`Activated ${a.activeStrategyKey} (was ${a.previousStrategyKey})`, `${a.activeStrategyKey} is already active`, {
              changed: a.changed,
              version: a.configVersion,
            }),
          );
          void app.refresh();
          return;
        }
        await showNotApplied(
          app,
          sending,
          result.errors,
          open,
          expectedVersion,
          () => {
            const fresh = app.state.strategies?.find((s) => s.key === target.key);
            return {
              notes: [
                h('p', {}, 'Someone changed the config since this dialog opened; your activation was not applied.'),
                currentStateNote(app),
              ],
              after:
                fresh && !fresh.isActive
                  ? buttons(h('button', { type: 'button', onclick: () => openActivate(app, fresh) }, 'Review again'))
                  : undefined,
            };
          },
          () =>
            app.state.status?.activeStrategyKey === target.key
              ? firstSendWords(app.state, expectedVersion, 'activateStrategy', [h('code', {}, target.key), ' is active'])
              : null,
        );
      },
    },
    `Activate ${target.key}`,
  );
  // Focus starts on Cancel: Enter twice on *Activate…* switched the live strategy without a look at the diff.
  const cancel = h(
    'button',
    { type: 'button', class: 'secondary', autofocus: true, onclick: () => closeDialog() },
    'Cancel',
  ) as HTMLButtonElement;
  openDialog(
    `Activate ${target.name}?`,
    h('p', {}, 'What will change:'),
    h(
      'table',
      { class: 'diff' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, 'Now'), h('th', { scope: 'col' }, 'After'))),
      h(
        'tbody',
        {},
        ...rows.map(([label, before, after]) =>
          h(
            'tr',
            { class: before === after ? null : 'changed' },
            h('th', { scope: 'row' }, label),
            ...(label === 'Parameters' || label === 'Instruments'
              ? [cell(before, 'Now'), cell(after, 'After')]
              : [h('td', { 'data-label': 'Now' }, before), h('td', { 'data-label': 'After' }, after)]),
          ),
        ),
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      `Sent with expectedVersion ${expectedVersion}: if the config changes before it arrives, the server refuses it and nothing is overwritten.`,
      running > 0 && status.store.connected && !invalid
        ? ` ${running === 1 ? 'The runner switches on its' : `The ${running} runners switch on their`} next scan.`
        : null,
    ),
    versionBoundNote(expectedVersion, 'version-bound-activate'),
    // While the store is unreachable the runners are unknown (not "none running"), and the change
    // itself would be refused: that is what to say (it said "the change is saved").
    !status.store.connected
      ? h(
          'p',
          { class: 'warn-box', 'data-testid': 'store-down-activate' },
          'The config store is unreachable: the server refuses changes until it answers again, so this one would be refused and nothing changed.',
        )
      : invalid
        ? h(
            'p',
            { class: 'warn-box', 'data-testid': 'config-invalid-activate' },
            `${invalid.location} on disk is invalid: the server refuses changes until it is fixed, so this one would be refused and nothing changed.`,
          )
        : missing && running > 0
          ? h(
              'p',
              { class: 'warn-box', 'data-testid': 'config-missing-activate' },
              `${missing.location} is missing from the store: this change writes it again (the last good config is in force meanwhile).`,
            )
          : running > 0
            ? null
            : h(
                'p',
                { class: 'warn-box', 'data-testid': 'no-runner' },
                status.runners.length === 0
                  ? 'No runner is reporting: the change is saved, but nothing trades it until a runner starts.'
                  : `No runner is running (${status.runners.map((r) => `${r.id === null ? 'unknown' : idText(r.id)} ${r.state}`).join(', ')}): the change is saved, but nothing trades it until a runner runs again.`,
              ),
    moved,
    outcome,
    buttons(confirm, cancel),
  );
  stopWatching = warnWhenVersionMoves(
    app,
    expectedVersion,
    moved,
    () => {
      const fresh = app.state.strategies?.find((s) => s.key === target.key);
      if (fresh && !fresh.isActive) openActivate(app, fresh);
      else closeDialog();
    },
    { version: presetsVersion, confirm },
  );
}
