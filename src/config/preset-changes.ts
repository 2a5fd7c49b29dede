import {
  checkPreset,
  MAX_PRESETS,
  type PresetDefinition,
  type PresetField,
  PresetValidationError,
  presetNameProblem,
  type StrategyRegistry,
  shownName,
  strategySetOf,
  tooManyPresets,
  withoutPreset,
  withPreset,
} from '../registry/index.js';
import type { Requester } from './changes.js';
import { PresetInUseError } from './errors.js';
import { configIssuesWith } from './schema.js';
import type { PresetsChange, StoreState } from './store.js';

/** A preset as `upsertPreset` takes it: the whole definition; fields left out follow the base. */
export type PresetInput = { readonly key: string } & Readonly<Partial<Record<PresetField, unknown>>>;

/** Refuses a next set that would leave the config in force naming a strategy it removes, or a tunable it invalidates. */
export function assertConfigKeeps(state: StoreState, next: readonly PresetDefinition[]): StrategyRegistry {
  const strategies = strategySetOf(state.strategies, next);
  const issues = configIssuesWith(strategies, state.config.config);
  if (issues.length > 0) throw new PresetInUseError(issues);
  return strategies;
}

/**
 * Creates the preset `input.key`, or replaces it (in place, keeping its position). Checked at commit
 * against the static strategies and the config in force.
 */
export function upsertPreset(input: PresetInput, by: Requester): PresetsChange {
  return {
    subject: 'PRESETS',
    operation: 'upsertPreset',
    actor: by.actor,
    presetKey: input.key,
    details: { preset: input.key },
    apply: (state) => {
      const { key, ...fields } = input;
      const checked = checkPreset(state.strategies, key, fields);
      if (!checked.ok) throw new PresetValidationError(checked.issues);
      // Against every other strategy in force; a preset keeping its own name is not a copy. Its name
      // as stored is not judged again: one stored before a rule (a soft hyphen, say) stays editable
      // (a tunable changed) without a rename it was not asked for.
      const stored = state.presets.presets.find((p) => p.key === key);
      const nameProblem =
        stored?.name === checked.preset.name ? undefined : presetNameProblem(state.strategies, checked.preset, state.presets.presets);
      if (nameProblem) throw new PresetValidationError([{ path: ['name'], message: nameProblem }]);
      const next = withPreset(state.presets.presets, checked.preset);
      if (next.length > MAX_PRESETS) {
        const message = `the preset set is full: ${tooManyPresets(next.length)}; delete one first`;
        throw new PresetValidationError([{ path: ['key'], message }], `Invalid preset: ${message}`);
      }
      assertConfigKeeps(state, next);
      return next;
    },
  };
}

/** Removes the preset `key`; refused when it is unknown, static, or used by the config in force. */
export function deletePreset(key: string, by: Requester): PresetsChange {
  return {
    subject: 'PRESETS',
    operation: 'deletePreset',
    actor: by.actor,
    presetKey: key,
    details: { preset: key },
    apply: (state) => {
      if (!state.presets.presets.some((p) => p.key === key)) {
        const known = state.presets.presets.map((p) => p.key).join(', ') || 'none';
        const message =
          state.strategies.get(key)?.source === 'static'
            ? `${key} is a static strategy; only presets can be deleted`
            : `unknown preset "${shownName(key)}" (presets: ${known})`;
        throw new PresetValidationError([{ path: ['key'], message }], `Invalid preset key: ${message}`);
      }
      const next = withoutPreset(state.presets.presets, key);
      assertConfigKeeps(state, next);
      return next;
    },
  };
}
