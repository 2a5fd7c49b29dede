import { execute } from '../client/http.js';
import { type RiskLevel, StrategiesInForceDocument, StrategyDocument, type TradingSession } from '../generated/graphql.js';
import { UsageError } from '../usage-error.js';
import { type ClientCommandContext, printJson, runClientCommand, table } from './client-command.js';
import { EXIT } from './exit-codes.js';
import { printJsonError } from './json-output.js';
import { type Action, stringFlag } from './program.js';

const RISK_LEVELS = ['LOW', 'MEDIUM', 'HIGH'] as const satisfies RiskLevel[];
const SESSIONS = ['ANY', 'LONDON', 'NY', 'ASIA'] as const satisfies TradingSession[];

function oneOf<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  const value = raw.toUpperCase() as T;
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ').toLowerCase()}, not "${raw}"`);
  return value;
}

/** `stratctl strategies [key]`: the list (filtered), or one strategy with its tunables. */
export const strategies: Action = async (flags, [key], ctx) => {
  const instrument = stringFlag(flags, 'instrument');
  const riskLevel = stringFlag(flags, 'risk-level');
  const session = stringFlag(flags, 'session');
  // A script's `--instrument "$SYMBOL"` with SYMBOL unset: a filter matching nothing, `[]` and exit 0,
  // read as "no strategy trades it" (README: an empty flag is refused, as --risk-level "" is).
  if (instrument !== undefined && instrument.trim() === '') throw new UsageError('--instrument must not be empty');
  if (key !== undefined) {
    if (instrument ?? riskLevel ?? session) throw new UsageError('filters go with the list, not with one key');
    return runClientCommand(flags, ctx, (ctx) => showOne(ctx, key));
  }
  const variables = {
    instrument,
    riskLevel: oneOf('--risk-level', riskLevel, RISK_LEVELS),
    sessionPreference: oneOf('--session', session, SESSIONS),
  };
  return runClientCommand(flags, ctx, async (ctx) => {
    const { strategies, status } = await execute(ctx.settings, StrategiesInForceDocument, variables);
    // The stored presets are not in force (a broken hand edit, or kept out): the presets listed are the
    // last good set. Said on stderr in both modes, so stdout (the table, the --json array) stays as it is.
    if (status.strategiesError) {
      ctx.warn(
        `warning: the presets listed are the last good set, still in force; the stored presets are not (see "stratctl status"):\n${status.strategiesError.message}`,
      );
    }
    if (ctx.json) return printJson(ctx, strategies);
    // A filter that matches none printed a bare header: said on stderr, as history and audit say an empty list.
    if (strategies.length === 0) {
      const given = Object.entries({ '--instrument': instrument, '--risk-level': riskLevel, '--session': session })
        .filter(([, value]) => value !== undefined)
        .map(([flag, value]) => `${flag} ${value}`)
        .join(' ');
      return void ctx.warn(`no strategy matches ${given} ("stratctl strategies" lists them all)`);
    }
    const rows = strategies.map((s) => [
      s.isActive ? '*' : '',
      s.key,
      s.name,
      s.riskLevel.toLowerCase(),
      s.sessionPreference.toLowerCase(),
      s.instruments.join(','),
    ]);
    ctx.print(table(['', 'KEY', 'NAME', 'RISK', 'SESSION', 'INSTRUMENTS'], rows));
  });
};

async function showOne(ctx: ClientCommandContext, key: string): Promise<number | undefined> {
  const { strategy } = await execute(ctx.settings, StrategyDocument, { key });
  if (!strategy) {
    if (ctx.json) printJsonError(ctx.io, 'NOT_FOUND', `there is no strategy "${key}"`);
    ctx.warn(`error: there is no strategy "${key}"\nRun "stratctl strategies" for the valid keys.`);
    return EXIT.usage;
  }
  if (ctx.json) return printJson(ctx, strategy);
  const effective = strategy.effectiveTunables as Record<string, unknown>;
  const defaults = strategy.tunables as Record<string, unknown>;
  ctx.print(
    [
      `${strategy.key}: ${strategy.name}${strategy.isActive ? ' (active)' : ''}`,
      // Which code a preset runs: its name is its own, its signal is the base's.
      ...(strategy.source === 'PRESET' && strategy.base ? [`preset of ${strategy.base}`] : []),
      strategy.description,
      `risk ${strategy.riskLevel.toLowerCase()}, session ${strategy.sessionPreference.toLowerCase()}, instruments ${strategy.instruments.join(', ')}`,
      '',
      table(
        ['TUNABLE', 'DEFAULT', 'IN FORCE'],
        Object.keys(defaults).map((name) => [name, JSON.stringify(defaults[name]), JSON.stringify(effective[name])]),
      ),
    ].join('\n'),
  );
}
