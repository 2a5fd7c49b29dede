import { stringify as toYaml } from 'yaml';
import { ControlPlaneError, execute } from '../client/http.js';
import { fileTermsPath, toSnakeKeys } from '../config/case.js';
import { StatusDocument, UpdateConfigDocument, type UpdateConfigMutation } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { fileKeys, printJson, runClientCommand } from './client-command.js';
import { parseAssignments } from './config-assignments.js';
import { EXIT } from './exit-codes.js';
import { type Action, stringFlag } from './program.js';
import { parseIfVersion } from './version-flag.js';
import { jsonWithWait, parseWait, printApplied, printNotApplied, reportUnappliedWait, settingsForWait } from './wait-flag.js';

type Config = UpdateConfigMutation['updateConfig']['config'];

/** The config as the file spells it, so what `get` prints is what `set` takes. */
function asFile(config: Config): string {
  const { __typename: _, ...fields } = config as Config & { __typename?: string };
  return toYaml(toSnakeKeys(fields)).trimEnd();
}

/** `stratctl config get`: the config in force, as the file spells it. */
export const configGet: Action = async (flags, _args, ctx) => {
  for (const flag of ['if-version', 'wait', 'timeout-ms'] as const)
    if (flags[flag] !== undefined) throw new UsageError(`--${flag} goes with config set`);
  return runClientCommand(flags, ctx, async (ctx) => {
    const { config, status } = await execute(ctx.settings, StatusDocument);
    // What is printed is the config in force; a broken hand edit on disk is not it, and says so
    // (on stderr, so the printed config can still be piped or diffed as before).
    if (status.configError) {
      ctx.warn(`the config file on disk is invalid; this is the last good config, still in force:\n${status.configError.message}`);
    }
    // --json: the same marker `status --json` carries, in its words (`configError`: null, or
    // {location, message}), so a script that reads only this knows the object is not the file.
    if (ctx.json) return printJson(ctx, { ...config, configError: status.configError });
    ctx.print(asFile(config));
  });
};

const INVALID_CONFIG = 'Invalid config: ';

/**
 * The server's refusal of the values in the file's terms, as `config set` took them and its own
 * checks name them: `scan_interval_seconds=abc` was refused as `scan_interval_seconds: ...` here,
 * `scan_interval_seconds=0` as `scanIntervalSeconds: ...` by the server, one key spelt two ways
 * (the REST routes rewrite the same refusal so: src/http/rest.ts detailOf).
 */
export function inFileTerms(err: unknown): unknown {
  if (!(err instanceof ControlPlaneError) || err.code !== 'BAD_USER_INPUT' || !err.message.startsWith(INVALID_CONFIG)) return err;
  const issues = (err.errors[0]?.extensions?.issues ?? []) as { path?: unknown[]; message: string }[];
  if (issues.length === 0) return err;
  const shown = issues.map(({ path, message }) => `${fileTermsPath(path)}: ${message}`);
  return new ControlPlaneError(err.kind, `${INVALID_CONFIG}${shown.join('; ')}`, err.status, err.errors, err.answerLost);
}

/** `stratctl config set key=value ...`: one validated write. */
export const configSet: Action = async (flags, assignments, ctx) => {
  const input = parseAssignments(assignments);
  const expectedVersion = parseIfVersion(stringFlag(flags, 'if-version'));
  const wait = parseWait(flags);
  return runClientCommand(flags, ctx, async (ctx) => {
    const { updateConfig } = await execute(settingsForWait(ctx.settings, wait), UpdateConfigDocument, {
      input,
      expectedVersion,
      ...wait,
    }).catch((err: unknown) => {
      throw inFileTerms(err);
    });
    const unapplied = reportUnappliedWait(
      ctx,
      updateConfig.changed
        ? `config saved as version ${updateConfig.config.version}`
        : `nothing changed (config version ${updateConfig.config.version})`,
      updateConfig.runnerWait,
    );
    if (ctx.json) {
      printJson(ctx, jsonWithWait(updateConfig));
      return unapplied ?? EXIT.ok;
    }
    const changed =
      updateConfig.changedFields.length > 0 ? `changed ${updateConfig.changedFields.map(fileKeys).join(', ')}` : 'nothing changed';
    ctx.print(`${changed}; config version ${updateConfig.config.version}\n${asFile(updateConfig.config)}`);
    // Timed out: the change stands, so stdout says what it is, then that the runner has not applied it (exit 6).
    if (unapplied !== null && updateConfig.runnerWait) {
      printNotApplied(ctx, updateConfig.runnerWait);
      return unapplied;
    }
    printApplied(ctx, updateConfig.runnerWait, updateConfig.changed);
  });
};
