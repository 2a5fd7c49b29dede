import { parseArgs } from 'node:util';
import { execute } from '../client/http.js';
import { type RiskLevel, StrategiesDocument, StrategyDocument, type TradingSession } from '../generated/graphql.js';
import { UsageError } from '../settings.js';
import {
  CLIENT_HELP,
  CLIENT_OPTIONS,
  type ClientCommandContext,
  noPositionals,
  printJson,
  runClientCommand,
  table,
} from './client-command.js';
import { EXIT } from './exit-codes.js';

export const help = `Usage: stratctl strategies [options]
       stratctl strategies <key> [options]

Lists the strategies the system ships; * marks the active one. With a key: that strategy, with
its default tunables and the ones it runs with (defaults + the config's overrides).

Filters (all given must match):
  --instrument <name>   e.g. EUR_USD
  --risk-level <level>  low | medium | high
  --session <session>   any | london | ny | asia

${CLIENT_HELP}
`;

const RISK_LEVELS = ['LOW', 'MEDIUM', 'HIGH'] as const satisfies RiskLevel[];
const SESSIONS = ['ANY', 'LONDON', 'NY', 'ASIA'] as const satisfies TradingSession[];

function oneOf<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  const value = raw.toUpperCase() as T;
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ').toLowerCase()}, not "${raw}"`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, instrument: { type: 'string' }, 'risk-level': { type: 'string' }, session: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  const [key, ...extra] = positionals;
  if (key !== undefined) {
    noPositionals(extra);
    if (values.instrument ?? values['risk-level'] ?? values.session) throw new UsageError('filters go with the list, not with one key');
    return runClientCommand(values, (ctx) => showOne(ctx, key));
  }
  const variables = {
    instrument: values.instrument,
    riskLevel: oneOf('--risk-level', values['risk-level'], RISK_LEVELS),
    sessionPreference: oneOf('--session', values.session, SESSIONS),
  };
  return runClientCommand(values, async (ctx) => {
    const { strategies } = await execute(ctx.settings, StrategiesDocument, variables);
    if (ctx.json) return printJson(ctx, strategies);
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
}

async function showOne(ctx: ClientCommandContext, key: string): Promise<number | undefined> {
  const { strategy } = await execute(ctx.settings, StrategyDocument, { key });
  if (!strategy) {
    process.stderr.write(`error: there is no strategy "${key}"\nRun "stratctl strategies" for the valid keys.\n`);
    return EXIT.usage;
  }
  if (ctx.json) return printJson(ctx, strategy);
  const effective = strategy.effectiveTunables as Record<string, unknown>;
  const defaults = strategy.tunables as Record<string, unknown>;
  ctx.print(
    [
      `${strategy.key}: ${strategy.name}${strategy.isActive ? ' (active)' : ''}`,
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
