import { execute } from '../client/http.js';
import { decimalSetting } from '../env-setting.js';
import { type AuditEntryFieldsFragment, AuditLogDocument, type AuditSubject, ConfigHistoryDocument } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { fileKeys, printJson, runClientCommand, table } from './client-command.js';
import { type Action, stringFlag } from './program.js';

/** `--last <n>`: a whole number from 1 to `max`. */
function parseLast(raw: string | undefined, max: number, why = ''): number | undefined {
  if (raw === undefined) return undefined;
  const n = decimalSetting(raw);
  if (!(n >= 1 && n <= max)) throw new UsageError(`--last must be 1 to ${max}${why}, not "${raw}"`);
  return n;
}

const SUBJECTS = ['CONFIG', 'PRESETS'] as const satisfies AuditSubject[];

function parseSubject(raw: string | undefined): AuditSubject | undefined {
  if (raw === undefined) return undefined;
  const subject = raw.toUpperCase() as AuditSubject;
  if (!SUBJECTS.includes(subject)) throw new UsageError(`--subject must be config or presets, not "${raw}"`);
  return subject;
}

const shown = (value: unknown) => (value === undefined || value === null ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

/**
 * `active_strategy_key: momentum -> gold, scan_interval_seconds: 30 -> 15`: fields named as
 * `config set` and `preset set` take them and `config get` prints them (the file's snake_case), not
 * as GraphQL names them (`--json` keeps the API's names).
 */
export function changesText(entry: Pick<AuditEntryFieldsFragment, 'changes'>): string {
  if (entry.changes.length === 0) return '-';
  return entry.changes.map((c) => `${fileKeys(c.field)}: ${shown(c.before)} -> ${shown(c.after)}`).join(', ');
}

/** `stratctl history [--last n]`: the accepted config versions, newest first. */
export const history: Action = async (flags, _args, ctx) => {
  const last = parseLast(stringFlag(flags, 'last'), 100);
  return runClientCommand(flags, ctx, async (ctx) => {
    const { configHistory } = await execute(ctx.settings, ConfigHistoryDocument, { last });
    if (ctx.json) return printJson(ctx, configHistory);
    if (configHistory.length === 0) return void ctx.warn('no config versions recorded');
    ctx.print(
      table(
        ['VERSION', 'TIME', 'ACTOR', 'OPERATION', 'STRATEGY', 'CHANGES'],
        configHistory.map((e) => [String(e.version), e.time, e.actor, e.operation, e.config.activeStrategyKey, changesText(e)]),
      ),
    );
  });
};

/**
 * The most entries `stratctl audit` asks for: what its query (AuditEntryFields, ~22 cost units an
 * entry) fits into the server's cost limit with a token (20,000; DESIGN "Limits"). The list limit
 * alone would allow 1,000, but 1,000 such entries cost 22,250 and were refused (test/operations-cost).
 */
export const AUDIT_MAX_LAST = 800;

/** `stratctl audit [--last n] [--subject config|presets]`: the audit trail, newest first. */
export const audit: Action = async (flags, _args, ctx) => {
  const last = parseLast(stringFlag(flags, 'last'), AUDIT_MAX_LAST, ' (the most whose cost the server allows with a token)');
  const subject = parseSubject(stringFlag(flags, 'subject'));
  return runClientCommand(flags, ctx, async (ctx) => {
    const { auditLog } = await execute(ctx.settings, AuditLogDocument, { last, subject });
    if (ctx.json) return printJson(ctx, auditLog);
    if (auditLog.length === 0) return void ctx.warn('no audit entries');
    ctx.print(
      table(
        ['TIME', 'SUBJECT', 'VERSION', 'ACTOR', 'OPERATION', 'CHANGES'],
        auditLog.map((e) => [e.time, e.subject.toLowerCase(), String(e.version), e.actor, e.operation, changesText(e)]),
      ),
    );
  });
};
