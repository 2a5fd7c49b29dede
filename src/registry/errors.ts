import { shownName, shownPath } from './shown-value.js';

/** Errors of the strategy registry. They know nothing of GraphQL; the API maps them to codes. */

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** A key that names no strategy in force (the DESIGN's wording, which scripts match on). */
export class InvalidStrategyKeyError extends Error {
  override name = 'InvalidStrategyKeyError';
  constructor(
    readonly strategyKey: string,
    /**
     * Where the caller sent it, in its own terms (`extensions.issues[].path`): `activateStrategy`'s
     * argument by default, `activeStrategyKey` for `updateConfig`'s input. (Not `path`: graphql-js
     * takes an error with an array `path` for one it already located, and left it without
     * `locations` or `path` in the answer.)
     */
    readonly issuePath: readonly (string | number)[] = ['strategyKey'],
  ) {
    super(`Invalid strategy key: ${shownName(strategyKey)}`);
  }
}

/** One thing wrong with a preset: where (fields in the caller's terms) and what. */
export interface PresetIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /**
   * Set on the one issue that stands for problems counted but not described (MAX_PRESET_ISSUES):
   * how many. Its path is empty (it is no one field's).
   */
  readonly more?: number;
}

/** A preset that cannot be: an unknown base, a tunable out of bounds, a key taken by a static strategy ... */
export class PresetValidationError extends Error {
  override name = 'PresetValidationError';
  constructor(
    readonly issues: readonly PresetIssue[],
    message = `Invalid preset: ${issues.map((i) => `${shownPath(i.path) || 'key'}: ${i.message}`).join('; ')}`,
  ) {
    super(message);
  }
}
