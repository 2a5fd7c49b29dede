import { notConfirmed } from '../api.js';
import { h, show } from '../dom.js';
import { acceptedWords, allows, type PageActions, type Strategy } from '../model.js';
import {
  bounds,
  decimalText,
  type FieldText,
  inForceText,
  overridesOf,
  parseTunable,
  type TunableDefinition,
  type TunableValue,
  tunablesPatch,
  typedFields,
} from '../tunables.js';
import { currentStateNote } from './activate.js';
import {
  buttons,
  closeDialog,
  firstSendWords,
  mayEnable,
  openDialog,
  sendFromDialog,
  showNotApplied,
  versionBoundNote,
  warnWhenVersionMoves,
} from './dialog.js';

/**
 * What an empty field runs with: the strategy's own value (`Strategy.tunables`: its base's defaults, then
 * a preset's own), not `TunableDefinition.default`, which for a preset is its base's (a preset setting
 * fast_ma_period 3 showed "default (20)" and ran 3 when the field was left empty).
 */
function defaultOf(strategy: Strategy, def: TunableDefinition): unknown {
  const own = (strategy.tunables as Record<string, unknown> | null | undefined)?.[def.name];
  return own === undefined ? def.default : own;
}

/** `typed`: what the operator had typed in a dialog the server refused (kept on *Review again*), shown beside what is in force now. */
function field(
  def: TunableDefinition,
  fallback: unknown,
  current: TunableValue | undefined,
  editable: boolean,
  typed?: string,
): { row: HTMLElement; read: () => FieldText } {
  const ownDefault = show(fallback);
  // A preset's own value: the base's beside it, so the help says where the number comes from.
  const defaultWords =
    fallback === def.default ? `default ${ownDefault}` : `default ${ownDefault} (this preset's; its base's: ${show(def.default)})`;
  // A plain decimal: `String(5e-7)` was refused by the field's own check on Save.
  const inForce = inForceText(current);
  const id = `tunable-${def.name}`;
  const errorId = `${id}-error`;
  const error = h('p', { class: 'field-error', id: errorId, 'aria-live': 'polite' });
  let control: HTMLInputElement | HTMLSelectElement;
  if (def.type === 'BOOLEAN') {
    control = h(
      'select',
      { id, name: def.name, disabled: !editable, 'aria-describedby': `${id}-help ${errorId}` },
      h('option', { value: '', selected: (typed ?? inForce) === '' }, `default (${ownDefault})`),
      h('option', { value: 'true', selected: (typed ?? inForce) === 'true' }, 'true'),
      h('option', { value: 'false', selected: (typed ?? inForce) === 'false' }, 'false'),
    );
  } else {
    control = h('input', {
      id,
      name: def.name,
      type: 'text',
      inputmode: def.type === 'INTEGER' ? 'numeric' : 'decimal',
      value: typed ?? inForce,
      placeholder: `default ${ownDefault}`,
      disabled: !editable,
      autocomplete: 'off',
      'aria-describedby': `${id}-help ${errorId}`,
    });
  }
  const check = () => {
    const parsed = parseTunable(def, control.value);
    error.textContent = parsed.ok ? '' : `${def.name} ${parsed.message}`;
    control.setAttribute('aria-invalid', parsed.ok ? 'false' : 'true');
  };
  control.addEventListener('input', check);
  control.addEventListener('change', check);
  const row = h(
    'div',
    { class: 'tunable', 'data-tunable': def.name },
    h('label', { for: id }, h('code', {}, def.name)),
    control,
    h(
      'p',
      { class: 'help', id: `${id}-help` },
      def.description,
      ' · ',
      `${defaultWords}, range ${bounds(def)}`,
      typed !== undefined && typed.trim() !== inForce
        ? h('strong', { 'data-testid': 'in-force-now' }, ` · in force now: ${inForce === '' ? `the default (${ownDefault})` : inForce}`)
        : null,
    ),
    error,
  );
  return { row, read: () => ({ def, inForce, text: control.value }) };
}

/** The overrides editor: bounds shown and checked, only the changed fields sent, with `expectedVersion`. */
export function openTunables(app: PageActions, strategy: Strategy, typed?: Record<string, string>): void {
  const { status, config } = app.state;
  if (!status || !config) return;
  const editable = allows(app.state.viewer, 'ADMIN');
  // The version of the overrides shown: the live status's arrives first, and was sent with the
  // overrides of the version before it (a colleague's change, never shown, then kept silently).
  // A newer one in force is said at once (warnWhenVersionMoves).
  const expectedVersion = config.version;
  // The defaults and bounds shown are of this presets version (a preset's tunables).
  const presetsVersion = app.state.strategiesPresetsVersion;
  const overrides = overridesOf(config.tunableOverrides, strategy.key);
  const fields = strategy.tunableDefinitions.map((def) => ({
    def,
    ...field(def, defaultOf(strategy, def), overrides[def.name], editable, typed?.[def.name]),
  }));
  const outcome = h('div', { 'aria-live': 'polite' });
  const moved = h('div', {});
  /** What Save would change, in words, as it is typed: it was sent unseen (one keystroke and Enter). */
  const changes = h('div', { 'data-testid': 'tunables-diff', 'aria-live': 'polite' });
  const showChanges = () => {
    const { patch } = tunablesPatch(
      fields.map((f) => f.read()),
      overrides,
    );
    const lines = fields.flatMap(({ def }) => {
      if (!(def.name in patch)) return [];
      const before = overrides[def.name] ?? null;
      const after = patch[def.name] ?? null;
      const words = (v: TunableValue) =>
        v === null ? `default (${show(defaultOf(strategy, def))})` : typeof v === 'number' ? decimalText(v) : show(v);
      return [h('li', {}, h('code', {}, def.name), `: ${words(before)} → ${words(after)}`)];
    });
    changes.replaceChildren(...(lines.length > 0 ? [h('p', {}, 'Save changes:'), h('ul', {}, ...lines)] : []));
  };

  // At the version bound no change can be numbered: said, and nothing offered to send (as in Activate).
  const atBound = editable ? versionBoundNote(expectedVersion, 'version-bound-tunables') : null;
  const save = h(
    'button',
    { type: 'submit', 'data-testid': 'save-tunables', 'data-sends': 'true', disabled: !editable || atBound !== null },
    'Save overrides',
  );
  // Focus starts on Cancel, as in Activate and Roll back: Enter twice must not change the live config.
  const cancel = h(
    'button',
    { type: 'button', class: 'secondary', autofocus: true, onclick: () => closeDialog() },
    editable ? 'Cancel' : 'Close',
  ) as HTMLButtonElement;
  let stopWatching = () => {};
  // Someone else changes the config while this is open: said at once, not only as a refusal on Save.
  // Resumed after a refusal, its first look is not an opening's: a version moved meanwhile was
  // loaded by the page already (it said "the page has not loaded the change yet").
  const watch = (resumed = false) => {
    stopWatching = warnWhenVersionMoves(
      app,
      expectedVersion,
      moved,
      () =>
        openTunables(app, app.state.strategies?.find((s) => s.key === strategy.key) ?? strategy, typedFields(fields.map((f) => f.read()))),
      { version: presetsVersion, confirm: save as HTMLButtonElement },
      resumed,
    );
  };
  /**
   * Refused by the server for the values sent (a cross-field rule the page cannot check: gold's
   * fast_ma_period below slow_ma_period): the fields stay editable, and the next edit gives Save
   * back (it stayed "Refused" and disabled: Close, reopen and retype was the only way on). The
   * refusal stays in sight until the next send; the watch for a config moved on starts again.
   */
  let refused = false;
  const edited = () => {
    if (refused && mayEnable(save)) {
      refused = false;
      save.disabled = false;
      save.textContent = 'Save overrides';
      watch(true);
    }
    showChanges();
  };
  const form = h(
    'form',
    {
      class: 'tunables',
      novalidate: true,
      oninput: edited,
      onchange: edited,
      // Enter in a field does not save (a typo and Enter changed a live parameter): Save does, with the changes in sight.
      onkeydown: (event: Event) => {
        const e = event as KeyboardEvent;
        if (e.key === 'Enter' && e.target instanceof HTMLInputElement) e.preventDefault();
      },
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const { patch, problems } = tunablesPatch(
          fields.map((f) => f.read()),
          overrides,
        );
        if (problems.length > 0) {
          outcome.replaceChildren(h('div', { class: 'error-box', role: 'alert' }, ...problems.map((p) => h('p', {}, p))));
          return;
        }
        if (Object.keys(patch).length === 0) {
          outcome.replaceChildren(h('p', { class: 'muted' }, 'Nothing changed: nothing to send.'));
          return;
        }
        stopWatching();
        moved.replaceChildren();
        const sending = { confirm: save, busy: 'Saving…', outcome, cancel, what: `The change of ${strategy.key}'s overrides` };
        const { result, open } = await sendFromDialog(app, sending, () => app.updateOverrides(strategy.key, patch, expectedVersion));
        if (result.ok) {
          if (open) closeDialog();
          const u = result.data.updateConfig;
          const names = Object.keys(patch).join(', ');
          app.notify(
            'success',
            acceptedWords(`Saved ${strategy.key}'s overrides (${names})`, `${strategy.key}'s overrides (${names}) are already in force`, {
              changed: u.changed,
              version: u.config.version,
            }),
          );
          void app.refresh();
          return;
        }
        // Review again: the dialog against what is in force now, with what was typed kept (and what is in force beside it).
        const review = () =>
          openTunables(
            app,
            app.state.strategies?.find((s) => s.key === strategy.key) ?? strategy,
            typedFields(fields.map((f) => f.read())),
          );
        await showNotApplied(
          app,
          sending,
          result.errors,
          open,
          expectedVersion,
          () => ({
            notes: [currentStateNote(app), buttons(h('button', { type: 'button', onclick: review }, 'Review again'))],
          }),
          () => {
            const now = overridesOf(app.state.config?.tunableOverrides, strategy.key);
            const same = Object.entries(patch).every(([name, value]) => (now[name] ?? null) === value);
            return same
              ? firstSendWords(app.state, expectedVersion, 'updateConfig', [
                  `${strategy.key}'s overrides are in force (${Object.keys(patch).join(', ')})`,
                ])
              : null;
          },
        );
        // Refused (not a conflict, whose Review again shows what is in force; not an unconfirmed send, which offers Send again).
        refused = open && !result.errors.some((e) => e.code === 'CONFLICT') && !notConfirmed(result.errors);
      },
    },
    ...fields.map((f) => f.row),
    changes,
    atBound,
    moved,
    outcome,
    buttons(save, cancel),
  );
  openDialog(
    `Tunables of ${strategy.name}`,
    h(
      'p',
      { class: 'muted' },
      editable
        ? `Overrides go into the config (tunable_overrides.${strategy.key}); leave a field empty for the default. Sent with expectedVersion ${expectedVersion}.`
        : 'Read-only: changing overrides needs a token with scope admin.',
    ),
    form,
  );
  showChanges();
  if (editable) watch();
}
