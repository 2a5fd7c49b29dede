import { ControlPlaneError, execute } from '../client/http.js';
import { DeletePresetDocument, type PresetInput, PresetsDocument, UpsertPresetDocument } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { BUSY_PRESETS, type ClientCommandContext, fileKeys, printJson, runClientCommand, table } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { applyPresetEdit, parsePresetAssignments } from './preset-assignments.js';
import { type Action, stringFlag } from './program.js';
import { parseIfVersion } from './version-flag.js';

/**
 * Attempts `preset set` makes on its own (it re-reads and re-applies the edit) when no --if-version
 * pinned the version. Each conflict means another writer won a round, so N scripts adding presets at
 * once need up to N attempts: with 3, 7 of 12 parallel `preset set`s of different presets failed.
 */
export const SET_ATTEMPTS = 25;

/** A short random pause after a lost round, so writers that lost together do not retry in step. */
const afterConflict = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** attempt)));

const tunablesText = (tunables: unknown) =>
  Object.entries((tunables as Record<string, unknown> | null) ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');

/** `stratctl preset list`: the presets in force, as written, with the set's version. */
export const presetList: Action = async (flags, _args, ctx) =>
  runClientCommand(flags, ctx, async (ctx) => {
    const { strategies: all, status } = await execute(ctx.settings, PresetsDocument);
    const strategies = all.filter((s) => s.preset !== null);
    if (ctx.json)
      return printJson(ctx, { presetsVersion: status.presetsVersion, strategiesError: status.strategiesError, presets: strategies });
    const rows = strategies.map((s) => [
      s.isActive ? '*' : '',
      s.key,
      s.preset?.base ?? '',
      s.preset?.name ?? '',
      s.instruments.join(','),
      tunablesText(s.preset?.tunables),
    ]);
    // None: said on stderr, as history, audit and token list say an empty list (stdout keeps the data: the version).
    if (strategies.length > 0) ctx.print(table(['', 'KEY', 'BASE', 'NAME', 'INSTRUMENTS', 'TUNABLES (own)'], rows));
    else ctx.warn('no presets');
    ctx.print(`presets version ${status.presetsVersion}`);
    if (status.strategiesError) ctx.warn(`warning: ${status.strategiesError.message}`);
  });

async function readPreset(ctx: ClientCommandContext, key: string) {
  const { strategies, status } = await execute(ctx.settings, PresetsDocument);
  const found = strategies.find((s) => s.key === key);
  // A static strategy's key is not a preset to edit, nor free for a new one: say so before "a new one needs base and name".
  if (found && found.preset === null) {
    throw new UsageError(`${key} is a static strategy, not a preset: a preset needs a key of its own, e.g. ${key}_custom with base=${key}`);
  }
  return { current: found?.preset ?? null, version: status.presetsVersion };
}

/**
 * `stratctl preset set <key> key=value ...`: edits the preset (or creates it) in one validated
 * write. The server takes whole presets, so this reads the preset, applies the edit and writes it
 * back on the version it read: a change made meanwhile is never overwritten (it retries, or with
 * --if-version exits 4).
 */
export const presetSet: Action = async (flags, [key, ...assignments], ctx) => {
  const edit = parsePresetAssignments(assignments);
  const pinned = parseIfVersion(stringFlag(flags, 'if-version'), 'presets');
  return runClientCommand(flags, ctx, async (ctx) => {
    for (let attempt = 1; ; attempt++) {
      const { current, version } = await readPreset(ctx, key as string);
      const input: PresetInput = applyPresetEdit(key as string, current, edit);
      try {
        const { upsertPreset: result } = await execute(ctx.settings, UpsertPresetDocument, { input, expectedVersion: pinned ?? version });
        if (ctx.json) return printJson(ctx, result);
        ctx.print(
          result.changed
            ? `${current ? 'changed' : 'added'} preset ${result.strategy.key} (${result.changedFields.map(fileKeys).join(', ')}); presets version ${result.presetsVersion}`
            : `nothing changed; presets version ${result.presetsVersion}`,
        );
        return EXIT.ok;
      } catch (err) {
        if (pinned !== undefined || !(err instanceof ControlPlaneError) || err.kind !== 'conflict') throw err;
        // Without --if-version the version was this command's own choice: "retry with --if-version N"
        // told a user who never gave one to pin a version; say what happened instead.
        if (attempt >= SET_ATTEMPTS)
          throw new ControlPlaneError(
            'conflict',
            `${BUSY_PRESETS} ${SET_ATTEMPTS} times while this was being set (between reading the preset and writing it back): nothing was written`,
            err.status,
            err.errors,
          );
        await afterConflict(attempt);
      }
    }
  });
};

/** `stratctl preset delete <key>`: removes a preset (refused while the config uses it). */
export const presetDelete: Action = async (flags, [key], ctx) => {
  const expectedVersion = parseIfVersion(stringFlag(flags, 'if-version'), 'presets');
  return runClientCommand(flags, ctx, async (ctx) => {
    const { deletePreset: result } = await execute(ctx.settings, DeletePresetDocument, { key: key as string, expectedVersion });
    if (ctx.json) return printJson(ctx, result);
    ctx.print(`deleted preset ${result.strategy.key} (${result.strategy.name}); presets version ${result.presetsVersion}`);
  });
};
